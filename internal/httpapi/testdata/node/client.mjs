// client.mjs drives seance's OpenAI-compatible server with the official openai npm package.
// Usage: node client.mjs BASE_URL API_KEY. It is run by TestNodeClient (node_test.go), whose fake
// models it expects: "tiny" streams "Once upon a time.", "tools" calls get_weather, "emb" embeds.
// It exits non-zero on the first failed check.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const [baseURL, apiKey] = process.argv.slice(2);
let requests = 0;
const client = new OpenAI({
  baseURL,
  apiKey,
  maxRetries: 0,
  timeout: 30_000,
  fetch: (url, init) => {
    requests++;
    return fetch(url, init);
  },
});
const messages = [{ role: 'user', content: 'Tell me a story.' }];

// Non-streamed.
const full = await client.chat.completions.create({ model: 'tiny', messages, seed: 1 });
assert.equal(full.object, 'chat.completion');
assert.equal(full.choices[0].message.content, 'Once upon a time.');
assert.equal(full.choices[0].finish_reason, 'stop');
assert.equal(full.usage.total_tokens, 10);
assert.equal(typeof full.seance.duration_ms, 'number');

// Streamed, raw chunks.
const stream = await client.chat.completions.create({
  model: 'tiny', messages, stream: true, stream_options: { include_usage: true },
});
let text = '';
let usage = null;
let finish = null;
for await (const chunk of stream) {
  assert.equal(chunk.object, 'chat.completion.chunk');
  for (const c of chunk.choices) {
    text += c.delta.content ?? '';
    finish = c.finish_reason ?? finish;
  }
  if (chunk.usage) usage = chunk.usage;
}
assert.equal(text, full.choices[0].message.content);
assert.equal(finish, 'stop');
assert.deepEqual(usage, full.usage);

// Streamed with the SDK's accumulating helper, tool calls.
const runner = client.chat.completions.stream({
  model: 'tools', messages: [{ role: 'user', content: 'Weather in Paris?' }],
  tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
});
const final = await runner.finalChatCompletion();
const calls = final.choices[0].message.tool_calls;
assert.equal(final.choices[0].finish_reason, 'tool_calls');
assert.equal(calls.length, 2);
assert.equal(calls[0].function.name, 'get_weather');
assert.deepEqual(JSON.parse(calls[0].function.arguments), { city: 'Paris' });
assert.equal(calls[1].id, 'call_b');

// A bad parameter is a 400 with the parameter named, and is not retried even with retries on.
const before = requests;
await assert.rejects(
  client.chat.completions.create({ model: 'tiny', messages, temperature: 5 }, { maxRetries: 2 }),
  (err) => {
    assert.ok(err instanceof OpenAI.BadRequestError, `got ${err}`);
    assert.equal(err.status, 400);
    assert.equal(err.param, 'temperature');
    assert.equal(err.code, 'invalid_request');
    return true;
  },
);
assert.equal(requests - before, 1);
await assert.rejects(client.chat.completions.create({ model: 'nope', messages }), OpenAI.NotFoundError);

// Models and embeddings (the SDK asks for base64 and decodes it).
const models = [];
for await (const m of client.models.list()) models.push(m.id);
assert.deepEqual(models.sort(), ['emb', 'tiny', 'tools']);
const emb = await client.embeddings.create({ model: 'emb', input: ['ab', 'abcd'] });
assert.deepEqual(emb.data.map((d) => Array.from(d.embedding)), [[2, 0.5, -1], [4, 0.5, -1]]);

// A wrong key is a 401.
const wrong = new OpenAI({ baseURL, apiKey: 'wrong', maxRetries: 0 });
await assert.rejects(wrong.models.list(), OpenAI.AuthenticationError);

console.log('node client: all checks passed');
