//go:build amd64

#include "textflag.h"

// AVX2 kernels. All need AVX2, FMA and F16C (checked in kernels_amd64.go). Integer block dots use
// the VPSIGNB/VPMADDUBSW/VPMADDWD sequence: |w| (unsigned) times x·sign(w) (signed) gives pairwise
// int16 sums without overflow for |w| ≤ 128 and |x| ≤ 127, widened to int32 by VPMADDWD with ones.

// Q8_0 block body: block at off(SI), activations at qoff(DI), activation scale at doff(DX);
// accumulates into acc. Clobbers AX, Y2..Y6. Y15 holds int16 ones.
#define Q8_0_BLOCK(off, qoff, doff, acc) \
	MOVWLZX off(SI), AX \
	VMOVD AX, X2 \
	VCVTPH2PS X2, X2 \
	VMULSS doff(DX), X2, X2 \
	VBROADCASTSS X2, Y2 \
	VMOVDQU off+2(SI), Y3 \
	VMOVDQU qoff(DI), Y4 \
	VPSIGNB Y3, Y3, Y5 \
	VPSIGNB Y3, Y4, Y6 \
	VPMADDUBSW Y6, Y5, Y5 \
	VPMADDWD Y15, Y5, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VFMADD231PS Y5, Y2, acc

// Horizontal sum of Y0 into X0 lane 0.
#define HSUM_Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS X1, X0, X0 \
	VHADDPS X0, X0, X0 \
	VHADDPS X0, X0, X0

// func dotQ8_0AVX2(w *byte, q *int8, d *float32, nb int) float32
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-36
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

q80loop:
	CMPQ CX, $2
	JLT q80tail
	Q8_0_BLOCK(0, 0, 0, Y0)
	Q8_0_BLOCK(34, 32, 4, Y1)
	ADDQ $68, SI
	ADDQ $64, DI
	ADDQ $8, DX
	SUBQ $2, CX
	JMP q80loop

q80tail:
	TESTQ CX, CX
	JZ q80done
	Q8_0_BLOCK(0, 0, 0, Y0)

q80done:
	VADDPS Y1, Y0, Y0
	HSUM_Y0
	VZEROUPPER
	MOVSS X0, ret+32(FP)
	RET

// Q4_0 block body, as Q8_0_BLOCK; Y14 holds bytes 0x0F and Y13 bytes 0x08.
#define Q4_0_BLOCK(off, qoff, doff, acc) \
	MOVWLZX off(SI), AX \
	VMOVD AX, X2 \
	VCVTPH2PS X2, X2 \
	VMULSS doff(DX), X2, X2 \
	VBROADCASTSS X2, Y2 \
	VMOVDQU off+2(SI), X3 \
	VPSRLW $4, X3, X4 \
	VINSERTI128 $1, X4, Y3, Y3 \
	VPAND Y14, Y3, Y3 \
	VPSUBB Y13, Y3, Y3 \
	VMOVDQU qoff(DI), Y4 \
	VPSIGNB Y3, Y3, Y5 \
	VPSIGNB Y3, Y4, Y6 \
	VPMADDUBSW Y6, Y5, Y5 \
	VPMADDWD Y15, Y5, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VFMADD231PS Y5, Y2, acc

// func dotQ4_0AVX2(w *byte, q *int8, d *float32, nb int) float32
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-36
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14
	MOVL $0x08080808, AX
	VMOVD AX, X13
	VPBROADCASTD X13, Y13

q40loop:
	CMPQ CX, $2
	JLT q40tail
	Q4_0_BLOCK(0, 0, 0, Y0)
	Q4_0_BLOCK(18, 32, 4, Y1)
	ADDQ $36, SI
	ADDQ $64, DI
	ADDQ $8, DX
	SUBQ $2, CX
	JMP q40loop

q40tail:
	TESTQ CX, CX
	JZ q40done
	Q4_0_BLOCK(0, 0, 0, Y0)

q40done:
	VADDPS Y1, Y0, Y0
	HSUM_Y0
	VZEROUPPER
	MOVSS X0, ret+32(FP)
	RET

// func dotF32AVX2(a unsafe.Pointer, b *float32, n int) float32
// n is a multiple of 8.
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f32loop32:
	CMPQ CX, $32
	JLT f32loop8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP f32loop32

f32loop8:
	CMPQ CX, $8
	JLT f32done
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP f32loop8

f32done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM_Y0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotF16AVX2(w *byte, x *float32, n int) float32
// n is a multiple of 8.
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f16loop32:
	CMPQ CX, $32
	JLT f16loop8
	VCVTPH2PS (SI), Y4
	VCVTPH2PS 16(SI), Y5
	VCVTPH2PS 32(SI), Y6
	VCVTPH2PS 48(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP f16loop32

f16loop8:
	CMPQ CX, $8
	JLT f16done
	VCVTPH2PS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP f16loop8

f16done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM_Y0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotBF16AVX2(w *byte, x *float32, n int) float32
// n is a multiple of 8.
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

bf16loop32:
	CMPQ CX, $32
	JLT bf16loop8
	VPMOVZXWD (SI), Y4
	VPMOVZXWD 16(SI), Y5
	VPMOVZXWD 32(SI), Y6
	VPMOVZXWD 48(SI), Y7
	VPSLLD $16, Y4, Y4
	VPSLLD $16, Y5, Y5
	VPSLLD $16, Y6, Y6
	VPSLLD $16, Y7, Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP bf16loop32

bf16loop8:
	CMPQ CX, $8
	JLT bf16done
	VPMOVZXWD (SI), Y4
	VPSLLD $16, Y4, Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP bf16loop8

bf16done:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM_Y0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func sumAVX2(b *byte, n int) uint64
// n is a multiple of 128. Streams b with 256-bit loads into four 64-bit-lane accumulators.
TEXT ·sumAVX2(SB), NOSPLIT, $0-24
	MOVQ b+0(FP), SI
	MOVQ n+8(FP), CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

sumloop:
	VPADDQ (SI), Y0, Y0
	VPADDQ 32(SI), Y1, Y1
	VPADDQ 64(SI), Y2, Y2
	VPADDQ 96(SI), Y3, Y3
	ADDQ $128, SI
	SUBQ $128, CX
	JNZ sumloop

	VPADDQ Y1, Y0, Y0
	VPADDQ Y3, Y2, Y2
	VPADDQ Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPADDQ X1, X0, X0
	VMOVQ X0, AX
	VZEROUPPER
	MOVQ AX, ret+16(FP)
	RET

// Block k of a group of four whose combined scales are at 4k(SP); see Q8_0_BLOCK.
#define Q8_0_BLOCK4(k, acc) \
	VBROADCASTSS (4*k)(SP), Y2 \
	VMOVDQU (34*k+2)(SI), Y3 \
	VMOVDQU (32*k)(DI), Y4 \
	VPSIGNB Y3, Y3, Y5 \
	VPSIGNB Y3, Y4, Y6 \
	VPMADDUBSW Y6, Y5, Y5 \
	VPMADDWD Y15, Y5, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VFMADD231PS Y5, Y2, acc

// func matVecQ8_0AVX2(w *byte, rowBytes, rows int, q *int8, d *float32, nb int, out *float32)
// out[i] = dot(row i of w, activations) for rows consecutive rows of rowBytes bytes each. Blocks go
// in groups of four whose scales are converted and multiplied together.
TEXT ·matVecQ8_0AVX2(SB), NOSPLIT, $16-56
	MOVQ w+0(FP), R8
	MOVQ rowBytes+8(FP), R11
	MOVQ rows+16(FP), R9
	MOVQ q+24(FP), R12
	MOVQ d+32(FP), R13
	MOVQ nb+40(FP), R14
	MOVQ out+48(FP), R10
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

mvrow:
	MOVQ R8, SI
	MOVQ R12, DI
	MOVQ R13, DX
	MOVQ R14, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

mvloop4:
	CMPQ CX, $4
	JLT mvloop1
	MOVWLZX (SI), AX
	VMOVD AX, X2
	VPINSRW $1, 34(SI), X2, X2
	VPINSRW $2, 68(SI), X2, X2
	VPINSRW $3, 102(SI), X2, X2
	VCVTPH2PS X2, X2
	VMULPS (DX), X2, X2
	VMOVUPS X2, 0(SP)
	Q8_0_BLOCK4(0, Y0)
	Q8_0_BLOCK4(1, Y1)
	Q8_0_BLOCK4(2, Y0)
	Q8_0_BLOCK4(3, Y1)
	ADDQ $136, SI
	ADDQ $128, DI
	ADDQ $16, DX
	SUBQ $4, CX
	JMP mvloop4

mvloop1:
	TESTQ CX, CX
	JZ mvdone
	Q8_0_BLOCK(0, 0, 0, Y0)
	ADDQ $34, SI
	ADDQ $32, DI
	ADDQ $4, DX
	DECQ CX
	JMP mvloop1

mvdone:
	VADDPS Y1, Y0, Y0
	HSUM_Y0
	MOVSS X0, (R10)
	ADDQ $4, R10
	ADDQ R11, R8
	DECQ R9
	JNZ mvrow
	VZEROUPPER
	RET

// Loads the product of the f16 at off(SI) and the float32 at (DX), broadcast, into Yreg (via Xreg).
#define SCALE(off, xreg, yreg) \
	MOVWLZX off(SI), AX \
	VMOVD AX, xreg \
	VCVTPH2PS xreg, xreg \
	VMULSS (DX), xreg, xreg \
	VBROADCASTSS xreg, yreg

// Q4_K chunk c (0..3): 32 qs bytes hold sub-block 2c (low nibbles) and 2c+1 (high nibbles).
// Scales as int16 words are at 0(SP); Y15 holds bytes 0x0F; accumulates int32 into Y10.
#define Q4K_CHUNK(c) \
	VMOVDQU (16+32*c)(SI), Y6 \
	VPSRLW $4, Y6, Y7 \
	VPAND Y15, Y7, Y7 \
	VPAND Y15, Y6, Y6 \
	VPMADDUBSW (64*c)(DI), Y6, Y6 \
	VPMADDUBSW (64*c+32)(DI), Y7, Y7 \
	VPBROADCASTW (4*c)(SP), Y8 \
	VPBROADCASTW (4*c+2)(SP), Y9 \
	VPMADDWD Y8, Y6, Y6 \
	VPMADDWD Y9, Y7, Y7 \
	VPADDD Y6, Y10, Y10 \
	VPADDD Y7, Y10, Y10

// func dotQ4KAVX2(w *byte, q *int8, d *float32, bs32 *int16, nb int) float32
TEXT ·dotQ4KAVX2(SB), NOSPLIT, $16-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ bs32+24(FP), BX
	MOVQ nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS X1, X1, X1
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15

q4kloop:
	// Unpack the 6-bit scales and mins (ggml's get_scale_min_k4, four at a time).
	MOVL 4(SI), AX
	MOVL 8(SI), R8
	MOVL 12(SI), R9
	MOVL R9, R10
	SHRL $4, R10
	ANDL $0x0f0f0f0f, R10
	MOVL R8, R11
	SHRL $6, R11
	ANDL $0x03030303, R11
	SHLL $4, R11
	ORL R11, R10 // mins 4..7
	MOVL R9, R11
	ANDL $0x0f0f0f0f, R11
	MOVL AX, R12
	SHRL $6, R12
	ANDL $0x03030303, R12
	SHLL $4, R12
	ORL R12, R11 // scales 4..7
	ANDL $0x3f3f3f3f, R8 // mins 0..3
	ANDL $0x3f3f3f3f, AX // scales 0..3
	SHLQ $32, R11
	ORQ R11, AX
	SHLQ $32, R10
	ORQ R10, R8
	VMOVQ AX, X2
	VPMOVZXBW X2, X2
	VMOVDQU X2, 0(SP)
	// Mins: Σ m_j·bsum_j, scaled by dmin·d_x, accumulated in X1 (subtracted at the end).
	VMOVQ R8, X3
	VPMOVZXBW X3, X3
	VPMADDWD (BX), X3, X3
	VCVTDQ2PS X3, X3
	SCALE(2, X4, X4)
	VFMADD231PS X3, X4, X1
	// Scaled quant products.
	VPXOR Y10, Y10, Y10
	Q4K_CHUNK(0)
	Q4K_CHUNK(1)
	Q4K_CHUNK(2)
	Q4K_CHUNK(3)
	VCVTDQ2PS Y10, Y10
	SCALE(0, X4, Y4)
	VFMADD231PS Y10, Y4, Y0
	ADDQ $144, SI
	ADDQ $256, DI
	ADDQ $4, DX
	ADDQ $16, BX
	DECQ CX
	JNZ q4kloop

	VEXTRACTF128 $1, Y0, X2
	VADDPS X2, X0, X0
	VSUBPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET

// Q6_K quarter: Yq holds 32 6-bit quants (0..63) for activations at aoff(DI) and the groups whose
// int16 scales are at soff(SP) and soff+2(SP). Accumulates int32 into Y10.
#define Q6K_QUARTER(yq, aoff, soff) \
	VPMADDUBSW aoff(DI), yq, yq \
	VPBROADCASTW soff(SP), Y2 \
	VPBROADCASTW soff+2(SP), Y3 \
	VPBLENDD $0xf0, Y3, Y2, Y2 \
	VPMADDWD Y2, yq, yq \
	VPADDD yq, Y10, Y10

// Q6_K half h (0, 1): 128 quants from ql[64h:64h+64] and qh[32h:32h+32].
// Y15 holds bytes 0x0F, Y14 bytes 0x30.
#define Q6K_HALF(h) \
	VMOVDQU (64*h)(SI), Y4 \
	VMOVDQU (64*h+32)(SI), Y5 \
	VMOVDQU (128+32*h)(SI), Y6 \
	VPSLLW $4, Y6, Y9 \
	VPAND Y14, Y9, Y9 \
	VPAND Y15, Y4, Y7 \
	VPOR Y9, Y7, Y7 \
	VPSLLW $2, Y6, Y9 \
	VPAND Y14, Y9, Y9 \
	VPAND Y15, Y5, Y8 \
	VPOR Y9, Y8, Y8 \
	VPAND Y14, Y6, Y9 \
	VPSRLW $4, Y4, Y4 \
	VPAND Y15, Y4, Y4 \
	VPOR Y9, Y4, Y4 \
	VPSRLW $2, Y6, Y9 \
	VPAND Y14, Y9, Y9 \
	VPSRLW $4, Y5, Y5 \
	VPAND Y15, Y5, Y5 \
	VPOR Y9, Y5, Y5 \
	Q6K_QUARTER(Y7, (128*h), (16*h)) \
	Q6K_QUARTER(Y8, (128*h+32), (16*h+4)) \
	Q6K_QUARTER(Y4, (128*h+64), (16*h+8)) \
	Q6K_QUARTER(Y5, (128*h+96), (16*h+12))

// func dotQ6KAVX2(w *byte, q *int8, d *float32, bs16 *int16, nb int) float32
TEXT ·dotQ6KAVX2(SB), NOSPLIT, $32-44
	MOVQ w+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ bs16+24(FP), BX
	MOVQ nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVL $0x30303030, AX
	VMOVD AX, X14
	VPBROADCASTD X14, Y14

q6kloop:
	// Quants are stored +32: start the integer sum at −32·Σ_g sc_g·bsum_g.
	VPMOVSXBW 192(SI), Y13
	VMOVDQU Y13, 0(SP)
	VPMADDWD (BX), Y13, Y12
	VPSLLD $5, Y12, Y12
	VPXOR Y10, Y10, Y10
	VPSUBD Y12, Y10, Y10
	Q6K_HALF(0)
	Q6K_HALF(1)
	VCVTDQ2PS Y10, Y10
	SCALE(208, X2, Y2)
	VFMADD231PS Y10, Y2, Y0
	ADDQ $210, SI
	ADDQ $256, DI
	ADDQ $4, DX
	ADDQ $32, BX
	DECQ CX
	JNZ q6kloop

	HSUM_Y0
	VZEROUPPER
	MOVSS X0, ret+40(FP)
	RET

// One token of the four-token Q8_0 kernel: Y3 holds the weight quants, Y4 their magnitudes and Y2
// the weight scale; qaddr/daddr address the token's quants and scale. Clobbers Y5, Y6.
#define Q8_0_TOKEN(qaddr, daddr, acc) \
	VMOVDQU qaddr, Y5 \
	VPSIGNB Y3, Y5, Y5 \
	VPMADDUBSW Y5, Y4, Y5 \
	VPMADDWD Y15, Y5, Y5 \
	VCVTDQ2PS Y5, Y5 \
	VBROADCASTSS daddr, Y6 \
	VMULPS Y6, Y2, Y6 \
	VFMADD231PS Y5, Y6, acc

// Horizontal sum of yreg, stored as float32 to addr. Clobbers X9.
#define HSUM_STORE(yreg, xreg, addr) \
	VEXTRACTF128 $1, yreg, X9 \
	VADDPS X9, xreg, xreg \
	VHADDPS xreg, xreg, xreg \
	VHADDPS xreg, xreg, xreg \
	MOVSS xreg, addr

// func matMul4Q8_0AVX2(w *byte, rowBytes, rows int, q *int8, qStride int, d *float32, dStride, nb int, out *float32, outStride int)
// For rows consecutive rows of w and four activation vectors (quants q + k·qStride bytes, scales
// d + k·dStride bytes, k = 0..3), stores row i times vector k to out + 4·i + k·outStride bytes.
// Each weight block is loaded and its magnitudes computed once for the four vectors.
TEXT ·matMul4Q8_0AVX2(SB), NOSPLIT, $0-80
	MOVQ w+0(FP), R8
	MOVQ rows+16(FP), R9
	MOVQ qStride+32(FP), BX
	LEAQ (BX)(BX*1), R12
	LEAQ (R12)(BX*1), R13
	MOVQ dStride+48(FP), R10
	LEAQ (R10)(R10*1), R11
	LEAQ (R11)(R10*1), R14
	MOVQ out+64(FP), AX
	MOVQ AX, R15
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15

mm4row:
	MOVQ R8, SI
	MOVQ q+24(FP), DI
	MOVQ d+40(FP), DX
	MOVQ nb+56(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8

mm4loop:
	MOVWLZX (SI), AX
	VMOVD AX, X2
	VCVTPH2PS X2, X2
	VBROADCASTSS X2, Y2
	VMOVDQU 2(SI), Y3
	VPSIGNB Y3, Y3, Y4
	Q8_0_TOKEN((DI), (DX), Y0)
	Q8_0_TOKEN((DI)(BX*1), (DX)(R10*1), Y1)
	Q8_0_TOKEN((DI)(R12*1), (DX)(R11*1), Y7)
	Q8_0_TOKEN((DI)(R13*1), (DX)(R14*1), Y8)
	ADDQ $34, SI
	ADDQ $32, DI
	ADDQ $4, DX
	DECQ CX
	JNZ mm4loop

	MOVQ outStride+72(FP), AX
	HSUM_STORE(Y0, X0, (R15))
	HSUM_STORE(Y1, X1, (R15)(AX*1))
	LEAQ (R15)(AX*2), DX
	HSUM_STORE(Y7, X7, (DX))
	ADDQ AX, DX
	HSUM_STORE(Y8, X8, (DX))
	ADDQ $4, R15
	ADDQ rowBytes+8(FP), R8
	DECQ R9
	JNZ mm4row
	VZEROUPPER
	RET

// func halfScoresAVX2(out, q *float32, k *uint16, stride, hd, npos int, scale float32)
// out[j] = float32(Σ q[i]·k[j·stride+i]) · scale for j < npos; stride is in bytes and hd a positive
// multiple of 8. Products of half-precision values are exact in float32; they are summed in float64
// in eight lanes (element i in lane i mod 8), folded as halfScoresGo does.
TEXT ·halfScoresAVX2(SB), NOSPLIT, $0-52
	MOVQ out+0(FP), R10
	MOVQ q+8(FP), R11
	MOVQ k+16(FP), R8
	MOVQ stride+24(FP), R9
	MOVQ hd+32(FP), R12
	MOVQ npos+40(FP), R13
	VMOVSS scale+48(FP), X15
	TESTQ R13, R13
	JZ hsdone

hsrow:
	MOVQ R8, SI
	MOVQ R11, DI
	MOVQ R12, CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1

hsloop:
	VCVTPH2PS (SI), Y4
	VMULPS (DI), Y4, Y4
	VCVTPS2PD X4, Y5
	VEXTRACTF128 $1, Y4, X4
	VCVTPS2PD X4, Y6
	VADDPD Y5, Y0, Y0
	VADDPD Y6, Y1, Y1
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ hsloop

	VADDPD Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VHADDPD X0, X0, X0
	VCVTSD2SS X0, X0, X0
	VMULSS X15, X0, X0
	VMOVSS X0, (R10)
	ADDQ $4, R10
	ADDQ R9, R8
	DECQ R13
	JNZ hsrow

hsdone:
	VZEROUPPER
	RET

// func halfAccumAVX2(acc *float32, n int, v *uint16, stride int, ms, vs *float32, npos int)
// For each j < npos: unless ms[j] is 1, acc = half(acc·ms[j]); then acc = half(fma(v_j, vs[j], acc))
// where v_j is the half-precision row at v + j·stride bytes and half() rounds to the nearest half
// (ties to even). n is a positive multiple of 8.
TEXT ·halfAccumAVX2(SB), NOSPLIT, $0-56
	MOVQ acc+0(FP), R10
	MOVQ n+8(FP), R12
	MOVQ v+16(FP), R8
	MOVQ stride+24(FP), R9
	MOVQ ms+32(FP), R11
	MOVQ vs+40(FP), R13
	MOVQ npos+48(FP), R14
	TESTQ R14, R14
	JZ hadone

harow:
	MOVL (R11), AX
	CMPL AX, $0x3f800000
	JEQ haadd
	VBROADCASTSS (R11), Y14
	MOVQ R10, DI
	MOVQ R12, CX

hascale:
	VMULPS (DI), Y14, Y0
	VCVTPS2PH $0, Y0, X0
	VCVTPH2PS X0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ hascale

haadd:
	VBROADCASTSS (R13), Y15
	MOVQ R10, DI
	MOVQ R8, SI
	MOVQ R12, CX

haloop:
	VCVTPH2PS (SI), Y0
	VFMADD213PS (DI), Y15, Y0
	VCVTPS2PH $0, Y0, X0
	VCVTPH2PS X0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ haloop

	ADDQ $4, R11
	ADDQ $4, R13
	ADDQ R9, R8
	DECQ R14
	JNZ harow

hadone:
	VZEROUPPER
	RET

// func halfAccum64AVX2(acc *float32, n int, v *uint16, stride int, ms, vs *float32, npos int)
// halfAccumAVX2 for n a positive multiple of 64: each block of 64 columns stays in Y8..Y15 while
// every position passes over it.
TEXT ·halfAccum64AVX2(SB), NOSPLIT, $0-56
	MOVQ acc+0(FP), R10
	MOVQ n+8(FP), R12
	MOVQ v+16(FP), R8
	MOVQ stride+24(FP), R9
	MOVQ npos+48(FP), R14
	TESTQ R14, R14
	JZ h64done

h64block:
	VMOVUPS 0(R10), Y8
	VMOVUPS 32(R10), Y9
	VMOVUPS 64(R10), Y10
	VMOVUPS 96(R10), Y11
	VMOVUPS 128(R10), Y12
	VMOVUPS 160(R10), Y13
	VMOVUPS 192(R10), Y14
	VMOVUPS 224(R10), Y15
	MOVQ R8, SI
	MOVQ ms+32(FP), R11
	MOVQ vs+40(FP), R13
	MOVQ R14, CX

h64row:
	MOVL (R11), AX
	CMPL AX, $0x3f800000
	JEQ h64add
	VBROADCASTSS (R11), Y4
	VMULPS Y4, Y8, Y8
	VCVTPS2PH $0, Y8, X8
	VCVTPH2PS X8, Y8
	VMULPS Y4, Y9, Y9
	VCVTPS2PH $0, Y9, X9
	VCVTPH2PS X9, Y9
	VMULPS Y4, Y10, Y10
	VCVTPS2PH $0, Y10, X10
	VCVTPH2PS X10, Y10
	VMULPS Y4, Y11, Y11
	VCVTPS2PH $0, Y11, X11
	VCVTPH2PS X11, Y11
	VMULPS Y4, Y12, Y12
	VCVTPS2PH $0, Y12, X12
	VCVTPH2PS X12, Y12
	VMULPS Y4, Y13, Y13
	VCVTPS2PH $0, Y13, X13
	VCVTPH2PS X13, Y13
	VMULPS Y4, Y14, Y14
	VCVTPS2PH $0, Y14, X14
	VCVTPH2PS X14, Y14
	VMULPS Y4, Y15, Y15
	VCVTPS2PH $0, Y15, X15
	VCVTPH2PS X15, Y15

h64add:
	VBROADCASTSS (R13), Y5
	VCVTPH2PS 0(SI), Y0
	VFMADD213PS Y8, Y5, Y0
	VCVTPS2PH $0, Y0, X0
	VCVTPH2PS X0, Y8
	VCVTPH2PS 16(SI), Y1
	VFMADD213PS Y9, Y5, Y1
	VCVTPS2PH $0, Y1, X1
	VCVTPH2PS X1, Y9
	VCVTPH2PS 32(SI), Y2
	VFMADD213PS Y10, Y5, Y2
	VCVTPS2PH $0, Y2, X2
	VCVTPH2PS X2, Y10
	VCVTPH2PS 48(SI), Y3
	VFMADD213PS Y11, Y5, Y3
	VCVTPS2PH $0, Y3, X3
	VCVTPH2PS X3, Y11
	VCVTPH2PS 64(SI), Y0
	VFMADD213PS Y12, Y5, Y0
	VCVTPS2PH $0, Y0, X0
	VCVTPH2PS X0, Y12
	VCVTPH2PS 80(SI), Y1
	VFMADD213PS Y13, Y5, Y1
	VCVTPS2PH $0, Y1, X1
	VCVTPH2PS X1, Y13
	VCVTPH2PS 96(SI), Y2
	VFMADD213PS Y14, Y5, Y2
	VCVTPS2PH $0, Y2, X2
	VCVTPH2PS X2, Y14
	VCVTPH2PS 112(SI), Y3
	VFMADD213PS Y15, Y5, Y3
	VCVTPS2PH $0, Y3, X3
	VCVTPH2PS X3, Y15
	ADDQ $4, R11
	ADDQ $4, R13
	ADDQ R9, SI
	DECQ CX
	JNZ h64row

	VMOVUPS Y8, 0(R10)
	VMOVUPS Y9, 32(R10)
	VMOVUPS Y10, 64(R10)
	VMOVUPS Y11, 96(R10)
	VMOVUPS Y12, 128(R10)
	VMOVUPS Y13, 160(R10)
	VMOVUPS Y14, 192(R10)
	VMOVUPS Y15, 224(R10)
	ADDQ $256, R10
	ADDQ $128, R8
	SUBQ $64, R12
	JNZ h64block

h64done:
	VZEROUPPER
	RET

// func scoresF32AVX2(out, q, k *float32, stride, hd, npos int, scale float32)
// out[j] = (Σ q[i]·k[j·stride+i]) · scale for j < npos; stride is in bytes and hd a positive
// multiple of 8.
TEXT ·scoresF32AVX2(SB), NOSPLIT, $0-52
	MOVQ out+0(FP), R10
	MOVQ q+8(FP), R11
	MOVQ k+16(FP), R8
	MOVQ stride+24(FP), R9
	MOVQ hd+32(FP), R12
	MOVQ npos+40(FP), R13
	VMOVSS scale+48(FP), X15
	VBROADCASTSS X15, Y14
	LEAQ (R9)(R9*2), R15

	// Four rows at a time: one accumulator per row, reduced together.
sf4:
	CMPQ R13, $4
	JLT sfrest
	MOVQ R8, SI
	MOVQ R11, DI
	MOVQ R12, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

sf4loop:
	VMOVUPS (DI), Y8
	VFMADD231PS (SI), Y8, Y0
	VFMADD231PS (SI)(R9*1), Y8, Y1
	VFMADD231PS (SI)(R9*2), Y8, Y2
	VFMADD231PS (SI)(R15*1), Y8, Y3
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ sf4loop

	VHADDPS Y1, Y0, Y4
	VHADDPS Y3, Y2, Y5
	VHADDPS Y5, Y4, Y6
	VEXTRACTF128 $1, Y6, X7
	VADDPS X7, X6, X6
	VMULPS X14, X6, X6
	VMOVUPS X6, (R10)
	ADDQ $16, R10
	LEAQ (R8)(R9*4), R8
	SUBQ $4, R13
	JMP sf4

sfrest:
	TESTQ R13, R13
	JZ sfdone

sfrow:
	MOVQ R8, SI
	MOVQ R11, DI
	MOVQ R12, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	CMPQ CX, $16
	JLT sfloop8

sfloop16:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	CMPQ CX, $16
	JGE sfloop16

sfloop8:
	TESTQ CX, CX
	JZ sfsum
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0

sfsum:
	VADDPS Y1, Y0, Y0
	HSUM_Y0
	VMULSS X15, X0, X0
	VMOVSS X0, (R10)
	ADDQ $4, R10
	ADDQ R9, R8
	DECQ R13
	JNZ sfrow

sfdone:
	VZEROUPPER
	RET

// func toHalfAVX2(dst *uint16, src *float32, n int)
// Converts n float32 (a positive multiple of 8) to half precision, rounding to nearest even.
TEXT ·toHalfAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

thloop:
	VMOVUPS (SI), Y0
	VCVTPS2PH $0, Y0, X0
	VMOVDQU X0, (DI)
	ADDQ $32, SI
	ADDQ $16, DI
	SUBQ $8, CX
	JNZ thloop
	VZEROUPPER
	RET

// Rounds the floats of yreg half away from zero (adds ±0.5, clamps to ±127, truncates) into int32s.
// Y14 holds the sign mask, Y13 0.5, Y12 127, Y11 -127. Clobbers Y8.
#define QROUND(yreg) \
	VANDPS Y14, yreg, Y8 \
	VORPS Y13, Y8, Y8 \
	VADDPS Y8, yreg, yreg \
	VMINPS Y12, yreg, yreg \
	VMAXPS Y11, yreg, yreg \
	VCVTTPS2DQ yreg, yreg

// VPERMD order that undoes the lane interleaving of VPACKSSDW + VPACKSSWB.
DATA q8perm<>+0(SB)/4, $0
DATA q8perm<>+4(SB)/4, $4
DATA q8perm<>+8(SB)/4, $1
DATA q8perm<>+12(SB)/4, $5
DATA q8perm<>+16(SB)/4, $2
DATA q8perm<>+20(SB)/4, $6
DATA q8perm<>+24(SB)/4, $3
DATA q8perm<>+28(SB)/4, $7
GLOBL q8perm<>(SB), RODATA|NOPTR, $32

// func quantQ8_0AVX2(x *float32, q *int8, d *float32, nb int)
// Quantises nb blocks of 32 floats exactly as actQ8.quantizeBlocks does: d = max|x|/127, quants
// x·(1/d) rounded half away from zero (adding ±0.5 and truncating) and clamped to ±127.
TEXT ·quantQ8_0AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ q+8(FP), DI
	MOVQ d+16(FP), DX
	MOVQ nb+24(FP), CX
	TESTQ CX, CX
	JZ qdone
	VPCMPEQD Y15, Y15, Y15
	VPSRLD $1, Y15, Y15          // abs mask
	VPCMPEQD Y14, Y14, Y14
	VPSLLD $31, Y14, Y14         // sign mask
	MOVL $0x3f000000, AX         // 0.5
	VMOVD AX, X13
	VPBROADCASTD X13, Y13
	MOVL $0x42fe0000, AX         // 127
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	MOVL $0xc2fe0000, AX         // -127
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	MOVL $0x3f800000, AX         // 1
	VMOVD AX, X10
	VMOVDQU q8perm<>(SB), Y9

qblock:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS Y15, Y0, Y4
	VANDPS Y15, Y1, Y5
	VANDPS Y15, Y2, Y6
	VANDPS Y15, Y3, Y7
	VMAXPS Y5, Y4, Y4
	VMAXPS Y7, Y6, Y6
	VMAXPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0x4e, X4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0xb1, X4, X5
	VMAXPS X5, X4, X4
	VDIVSS X12, X4, X4           // d = amax/127
	VMOVSS X4, (DX)
	VXORPS X5, X5, X5
	VUCOMISS X5, X4
	JEQ qzero
	VDIVSS X4, X10, X5           // id = 1/d

qzero:
	VBROADCASTSS X5, Y5
	VMULPS Y5, Y0, Y0
	VMULPS Y5, Y1, Y1
	VMULPS Y5, Y2, Y2
	VMULPS Y5, Y3, Y3
	QROUND(Y0)
	QROUND(Y1)
	QROUND(Y2)
	QROUND(Y3)
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y9, Y0
	VMOVDQU Y0, (DI)
	ADDQ $128, SI
	ADDQ $32, DI
	ADDQ $4, DX
	DECQ CX
	JNZ qblock

qdone:
	VZEROUPPER
	RET

// exp's constants (Cephes expf): clamp bounds, log2(e), ln 2 split in two, the polynomial.
DATA expc<>+0(SB)/4, $0xc2aeac4f   // -87.33654
DATA expc<>+4(SB)/4, $0x42b00000   // 88
DATA expc<>+8(SB)/4, $0x3fb8aa3b   // log2(e)
DATA expc<>+12(SB)/4, $0x3f318000   // 0.693359375
DATA expc<>+16(SB)/4, $0xb95e8083   // -2.12194440e-4
DATA expc<>+20(SB)/4, $0x39506967   // 1.9875691500e-4
DATA expc<>+24(SB)/4, $0x3ab743ce   // 1.3981999507e-3
DATA expc<>+28(SB)/4, $0x3c088908   // 8.3334519073e-3
DATA expc<>+32(SB)/4, $0x3d2aa9c1   // 4.1665795894e-2
DATA expc<>+36(SB)/4, $0x3e2aaaaa   // 1.6666665459e-1
DATA expc<>+40(SB)/4, $0x3f000000   // 5.0000001201e-1
DATA expc<>+44(SB)/4, $0x3f800000   // 1
GLOBL expc<>(SB), RODATA|NOPTR, $48

// EXP8 sets Y0 to exp(Y0) for 8 floats with the operations of expf in exp.go, in the same order
// (no fused multiply-adds). Clobbers Y1..Y5.
#define EXP8 \
	VBROADCASTSS expc<>+0(SB), Y1 \
	VMAXPS Y1, Y0, Y0 \
	VBROADCASTSS expc<>+4(SB), Y1 \
	VMINPS Y1, Y0, Y0 \
	VBROADCASTSS expc<>+8(SB), Y1 \
	VMULPS Y1, Y0, Y1 \
	VROUNDPS $0, Y1, Y1 \
	VBROADCASTSS expc<>+12(SB), Y2 \
	VMULPS Y1, Y2, Y2 \
	VSUBPS Y2, Y0, Y0 \
	VBROADCASTSS expc<>+16(SB), Y2 \
	VMULPS Y1, Y2, Y2 \
	VSUBPS Y2, Y0, Y0 \
	VMULPS Y0, Y0, Y3 \
	VBROADCASTSS expc<>+20(SB), Y4 \
	VMULPS Y0, Y4, Y4 \
	VBROADCASTSS expc<>+24(SB), Y5 \
	VADDPS Y5, Y4, Y4 \
	VMULPS Y0, Y4, Y4 \
	VBROADCASTSS expc<>+28(SB), Y5 \
	VADDPS Y5, Y4, Y4 \
	VMULPS Y0, Y4, Y4 \
	VBROADCASTSS expc<>+32(SB), Y5 \
	VADDPS Y5, Y4, Y4 \
	VMULPS Y0, Y4, Y4 \
	VBROADCASTSS expc<>+36(SB), Y5 \
	VADDPS Y5, Y4, Y4 \
	VMULPS Y0, Y4, Y4 \
	VBROADCASTSS expc<>+40(SB), Y5 \
	VADDPS Y5, Y4, Y4 \
	VMULPS Y3, Y4, Y4 \
	VADDPS Y0, Y4, Y4 \
	VBROADCASTSS expc<>+44(SB), Y2 \
	VADDPS Y2, Y4, Y4 \
	VCVTPS2DQ Y1, Y1 \
	VPSLLD $23, Y1, Y1 \
	VPADDD Y2, Y1, Y1 \
	VMULPS Y1, Y4, Y0

// func expSumAVX2(x *float32, n int, sub float32) float32
// x[i] = expf(x[i] - sub) for n (a positive multiple of 8) floats; returns their sum, added up in
// eight lanes (element i in lane i mod 8) and folded as expSumGo does.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS sub+16(FP), Y7
	VXORPS Y6, Y6, Y6

esloop:
	VMOVUPS (DI), Y0
	VSUBPS Y7, Y0, Y0
	EXP8
	VMOVUPS Y0, (DI)
	VADDPS Y0, Y6, Y6
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ esloop

	VMOVAPS Y6, Y0
	HSUM_Y0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// float64 exp constants: clamp bounds, log2(e), ln 2 in two parts, the rounding bias that puts n+1023
// in the low bits, and the Taylor coefficients from the highest.
DATA expd<>+0(SB)/8, $0xc085e00000000000 // -700
DATA expd<>+8(SB)/8, $0x4085e00000000000 // 700
DATA expd<>+16(SB)/8, $0x3ff71547652b82fe // log2(e)
DATA expd<>+24(SB)/8, $0x3fe62e42fee00000 // ln2 high
DATA expd<>+32(SB)/8, $0x3dea39ef00000000 // ln2 low
DATA expd<>+40(SB)/8, $0x43380000000003ff // 2^52+2^51+1023
DATA expd<>+48(SB)/8, $0x3e21eed8eff8d898 // 1/12!
DATA expd<>+56(SB)/8, $0x3e5ae64567f544e4 // 1/11!
DATA expd<>+64(SB)/8, $0x3e927e4fb7789f5c // 1/10!
DATA expd<>+72(SB)/8, $0x3ec71de3a556c734 // 1/9!
DATA expd<>+80(SB)/8, $0x3efa01a01a01a01a // 1/8!
DATA expd<>+88(SB)/8, $0x3f2a01a01a01a01a // 1/7!
DATA expd<>+96(SB)/8, $0x3f56c16c16c16c17 // 1/6!
DATA expd<>+104(SB)/8, $0x3f81111111111111 // 1/5!
DATA expd<>+112(SB)/8, $0x3fa5555555555555 // 1/4!
DATA expd<>+120(SB)/8, $0x3fc5555555555555 // 1/3!
DATA expd<>+128(SB)/8, $0x3fe0000000000000 // 1/2!
DATA expd<>+136(SB)/8, $0x3ff0000000000000 // 1/1!
DATA expd<>+144(SB)/8, $0x3ff0000000000000 // 1/0!
GLOBL expd<>(SB), RODATA|NOPTR, $152

// EXP4D sets Y0 to exp(Y0) for 4 float64s (for SwiGLU, whose result is rounded to float32): Y0 is
// clamped to ±700, n = round(x·log2 e) removed with ln 2 in two parts, e^r for |r| ≤ 0.35 by its
// Taylor polynomial of degree 12 (truncation error below 2e-16), scaled by 2^n. Clobbers Y1..Y3.
#define EXP4D \
	VBROADCASTSD expd<>+0(SB), Y1 \
	VMAXPD Y1, Y0, Y0 \
	VBROADCASTSD expd<>+8(SB), Y1 \
	VMINPD Y1, Y0, Y0 \
	VBROADCASTSD expd<>+16(SB), Y1 \
	VMULPD Y1, Y0, Y1 \
	VROUNDPD $0, Y1, Y1 \
	VBROADCASTSD expd<>+24(SB), Y2 \
	VFNMADD231PD Y2, Y1, Y0 \
	VBROADCASTSD expd<>+32(SB), Y2 \
	VFNMADD231PD Y2, Y1, Y0 \
	VBROADCASTSD expd<>+48(SB), Y3 \
	VBROADCASTSD expd<>+56(SB), Y2 \
	VFMADD213PD Y2, Y0, Y3 \
	VBROADCASTSD expd<>+64(SB), Y2 \
	VFMADD213PD Y2, Y0, Y3 \
	VBROADCASTSD expd<>+72(SB), Y2 \
	VFMADD213PD Y2, Y0, Y3 \
	VBROADCASTSD expd<>+80(SB), Y2 \
	VFMADD213PD Y2, Y0, Y3 \
	VBROADCASTSD expd<>+88(SB), Y2 \
	VFMADD213PD Y2, Y0, Y3 \
	VBROADCASTSD expd<>+96(SB), Y2 \
	VFMADD213PD Y2, Y0, Y3 \
	VBROADCASTSD expd<>+104(SB), Y2 \
	VFMADD213PD Y2, Y0, Y3 \
	VBROADCASTSD expd<>+112(SB), Y2 \
	VFMADD213PD Y2, Y0, Y3 \
	VBROADCASTSD expd<>+120(SB), Y2 \
	VFMADD213PD Y2, Y0, Y3 \
	VBROADCASTSD expd<>+128(SB), Y2 \
	VFMADD213PD Y2, Y0, Y3 \
	VBROADCASTSD expd<>+136(SB), Y2 \
	VFMADD213PD Y2, Y0, Y3 \
	VBROADCASTSD expd<>+144(SB), Y2 \
	VFMADD213PD Y2, Y0, Y3 \
	VBROADCASTSD expd<>+40(SB), Y2 \
	VADDPD Y2, Y1, Y1 \
	VPSLLQ $52, Y1, Y1 \
	VMULPD Y1, Y3, Y0

// func swigluAVX2(dst, gate, up *float32, n int)
// dst[i] = gate[i] / (1 + float32(exp(-gate[i]))) · up[i] for n (a positive multiple of 8) floats,
// the exponential computed in float64 by EXP4D.
TEXT ·swigluAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	VPCMPEQD Y7, Y7, Y7
	VPSLLD $31, Y7, Y7

sgloop:
	VMOVUPS (SI), Y6
	VXORPS Y7, Y6, Y5
	VCVTPS2PD X5, Y0
	EXP4D
	VCVTPD2PSY Y0, X4
	VEXTRACTF128 $1, Y5, X5
	VCVTPS2PD X5, Y0
	EXP4D
	VCVTPD2PSY Y0, X0
	VINSERTF128 $1, X0, Y4, Y4
	VBROADCASTSS expc<>+44(SB), Y1
	VADDPS Y1, Y4, Y4
	VDIVPS Y4, Y6, Y6
	VMULPS (DX), Y6, Y6
	VMOVUPS Y6, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ sgloop
	VZEROUPPER
	RET

// func sumExpAVX2(x *float32, n int, sub float32) float32
// expSumAVX2 without storing the exponentials: returns Σ expf(x[i] - sub).
TEXT ·sumExpAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS sub+16(FP), Y7
	VXORPS Y6, Y6, Y6

seloop:
	VMOVUPS (DI), Y0
	VSUBPS Y7, Y0, Y0
	EXP8
	VADDPS Y0, Y6, Y6
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ seloop

	VMOVAPS Y6, Y0
	HSUM_Y0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func exp32AVX2(dst, src *float32, n int)
// dst[i] = float32(exp(src[i])) for n (a positive multiple of 4) floats, by EXP4D in float64.
TEXT ·exp32AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

e32loop:
	VCVTPS2PD (SI), Y0
	EXP4D
	VCVTPD2PSY Y0, X0
	VMOVUPS X0, (DI)
	ADDQ $16, SI
	ADDQ $16, DI
	SUBQ $4, CX
	JNZ e32loop
	VZEROUPPER
	RET
