// Package config is seance's one typed configuration tree: defaults, then the YAML file, then the
// environment, then command-line flags, validated once. It is the only package that reads the
// environment; every component takes explicit options built from a Config by internal/app.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/seance-dev/seance/internal/fault"
)

// Secret is a string that never prints: fmt, logs and YAML output show "[redacted]".
type Secret string

// String returns a redacted placeholder (or "" when empty).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// Reveal returns the secret's value, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// MarshalYAML redacts the secret.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Config is the whole configuration.
type Config struct {
	// Home is the seance home folder (default ~/.seance, or $SEANCE_HOME).
	Home string `yaml:"home"`
	// DefaultModel is the model used when a command names none: an alias from Models or a model reference.
	DefaultModel string `yaml:"default_model"`
	// Models maps aliases to model references (gguf:/path, a path, openai+http://host/v1#model, ollama://host/model).
	Models map[string]string `yaml:"models"`
	// ModelDirs are folders searched for GGUF files by `seance models` and by bare file names.
	ModelDirs []string `yaml:"model_dirs"`
	// Backends are remote servers whose models are listed and whose keys are used for their URLs.
	Backends []Backend `yaml:"backends"`
	Ollama   Ollama    `yaml:"ollama"`
	// HuggingFaceCache is the Hugging Face hub cache searched for GGUF files.
	HuggingFaceCache string `yaml:"huggingface_cache"`
	Engine           Engine `yaml:"engine"`
	Serve            Serve  `yaml:"serve"`
	Log              Log    `yaml:"log"`
	Memory           Memory `yaml:"memory"`
	Tools            Tools  `yaml:"tools"`

	// File is the config file that was read ("" when none). Not part of the file format.
	File string `yaml:"-"`
	// fallbackOpenAIKey comes from $SEANCE_OPENAI_API_KEY, for openai URLs no backend entry covers.
	fallbackOpenAIKey Secret
}

// Backend is a configured remote model server.
type Backend struct {
	Name string `yaml:"name"`
	// URL is an openai+http(s):// or ollama:// URL.
	URL    string `yaml:"url"`
	APIKey Secret `yaml:"api_key"`
	// Timeout bounds one request (default 10m: generations can be long).
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries on 429/5xx (default 2).
	MaxRetries int `yaml:"max_retries"`
}

// Ollama configures access to a local Ollama.
type Ollama struct {
	// Host is Ollama's address (default 127.0.0.1:11434).
	Host string `yaml:"host"`
	// ModelsDir is Ollama's local store (default ~/.ollama/models), read for GGUF blobs.
	ModelsDir string `yaml:"models_dir"`
	// NumCtx is the context length sent with every request, because Ollama's own default silently
	// truncates. 0 means: the Modelfile's num_ctx, else the model's trained context capped at 8192.
	NumCtx int `yaml:"num_ctx"`
}

// Engine configures the embedded inference engine.
type Engine struct {
	// Threads for matrix products (default: the number of CPUs).
	Threads int `yaml:"threads"`
	// ContextLength caps the context (0: the model's own).
	ContextLength int `yaml:"context_length"`
	// Float32Cache keeps the KV cache in float32 instead of half precision (see docs/ENGINE.md).
	Float32Cache bool `yaml:"float32_cache"`
}

// Serve configures `seance serve`.
type Serve struct {
	// Addr to listen on (default 127.0.0.1:8080; binding other addresses is the user's explicit choice).
	Addr string `yaml:"addr"`
	// APIKeys, when set, are required as Bearer tokens.
	APIKeys       []Secret `yaml:"api_keys"`
	MaxBodyBytes  int64    `yaml:"max_body_bytes"`
	MaxConcurrent int      `yaml:"max_concurrent"`
	MaxQueue      int      `yaml:"max_queue"`
	// Workspace, when set, is the git workspace folder served teams' agents with tools work in (each
	// run on its own branch); without it such teams are refused.
	Workspace string `yaml:"workspace"`
	// ApproverKeys, when set, are the only Bearer tokens that may decide approval requests
	// (POST /v1/approvals/{id}); they are also accepted wherever an API key is.
	ApproverKeys []Secret `yaml:"approver_keys"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error (default info).
	Level string `yaml:"level"`
	// Format is text or json (default text).
	Format string `yaml:"format"`
}

// DefaultModelAlias is the alias of the model `seance setup` installs: the embedded default.
const DefaultModelAlias = "default"

// DefaultModelFile is the file name of the embedded default model inside Home/models.
const DefaultModelFile = "stories260K-f32.gguf"

// Default returns the defaults for a user whose home folder is userHome.
func Default(userHome string) *Config {
	home := filepath.Join(userHome, ".seance")
	c := &Config{Home: home}
	c.fillDefaults(userHome)
	return c
}

func (c *Config) fillDefaults(userHome string) {
	if c.Home == "" {
		c.Home = filepath.Join(userHome, ".seance")
	}
	if c.Models == nil {
		c.Models = map[string]string{}
	}
	if _, ok := c.Models[DefaultModelAlias]; !ok {
		c.Models[DefaultModelAlias] = "gguf:" + filepath.Join(c.Home, "models", DefaultModelFile)
	}
	if c.DefaultModel == "" {
		c.DefaultModel = DefaultModelAlias
	}
	if len(c.ModelDirs) == 0 {
		c.ModelDirs = []string{filepath.Join(c.Home, "models")}
	}
	if c.Ollama.Host == "" {
		c.Ollama.Host = "127.0.0.1:11434"
	}
	if c.Ollama.ModelsDir == "" {
		c.Ollama.ModelsDir = filepath.Join(userHome, ".ollama", "models")
	}
	if c.HuggingFaceCache == "" {
		c.HuggingFaceCache = filepath.Join(userHome, ".cache", "huggingface", "hub")
	}
	if c.Engine.Threads == 0 {
		c.Engine.Threads = runtime.NumCPU()
	}
	if c.Serve.Addr == "" {
		c.Serve.Addr = "127.0.0.1:8080"
	}
	if c.Serve.MaxBodyBytes == 0 {
		c.Serve.MaxBodyBytes = 4 << 20
	}
	if c.Serve.MaxConcurrent == 0 {
		c.Serve.MaxConcurrent = 4
	}
	if c.Serve.MaxQueue == 0 {
		c.Serve.MaxQueue = 64
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	c.Memory.fillDefaults()
	c.Tools.fillDefaults()
	for i := range c.Backends {
		if c.Backends[i].Timeout == 0 {
			c.Backends[i].Timeout = 10 * time.Minute
		}
		if c.Backends[i].MaxRetries == 0 {
			c.Backends[i].MaxRetries = 2
		}
	}
}

// Env is the environment seance reads: a lookup function, so tests pass a map instead of calling
// t.Setenv.
type Env func(key string) (string, bool)

// MapEnv returns an Env backed by a map.
func MapEnv(m map[string]string) Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Flags are the command-line overrides shared by all subcommands; empty fields do not override.
type Flags struct {
	ConfigFile string
	Home       string
	Model      string
	Addr       string
	Threads    int
	LogLevel   string
}

// The environment variables seance reads, all here.
const (
	EnvHome         = "SEANCE_HOME"
	EnvConfig       = "SEANCE_CONFIG"
	EnvModel        = "SEANCE_MODEL"
	EnvAddr         = "SEANCE_ADDR"
	EnvThreads      = "SEANCE_THREADS"
	EnvLogLevel     = "SEANCE_LOG_LEVEL"
	EnvServeAPIKey  = "SEANCE_API_KEY"        // a key clients must send to `seance serve`
	EnvOpenAIKey    = "SEANCE_OPENAI_API_KEY" // key for openai+http(s) backends without their own
	EnvOllamaHost   = "OLLAMA_HOST"           // Ollama's own variable, honoured for compatibility
	EnvOllamaModels = "OLLAMA_MODELS"         // Ollama's own variable for its store
	EnvHFCache      = "HF_HUB_CACHE"          // Hugging Face's own variable for its cache
	envUserHome     = "HOME"
)

// Load builds the configuration: defaults, then the config file (flags.ConfigFile, $SEANCE_CONFIG, or
// Home/config.yaml when it exists), then the environment, then flags; then it validates.
func Load(env Env, flags Flags) (*Config, error) {
	userHome, _ := env(envUserHome)
	if userHome == "" {
		userHome = "/"
	}
	home := flags.Home
	if home == "" {
		home, _ = env(EnvHome)
	}
	file := flags.ConfigFile
	explicit := file != ""
	if file == "" {
		if f, ok := env(EnvConfig); ok && f != "" {
			file, explicit = f, true
		}
	}
	if file == "" {
		h := home
		if h == "" {
			h = filepath.Join(userHome, ".seance")
		}
		file = filepath.Join(expand(h, userHome), "config.yaml")
	}
	c := &Config{}
	data, err := os.ReadFile(expand(file, userHome))
	switch {
	case err == nil:
		if err := decode(data, c); err != nil {
			return nil, fault.Wrap(err, fault.Invalid, "config file %s", file)
		}
		c.File = expand(file, userHome)
	case errors.Is(err, fs.ErrNotExist) && !explicit:
	default:
		return nil, fault.Wrap(err, fault.Invalid, "read config file %s", file)
	}
	if home != "" {
		c.Home = home
	}
	if err := applyEnv(c, env); err != nil {
		return nil, err
	}
	applyFlags(c, flags)
	c.expandPaths(userHome)
	c.fillDefaults(userHome)
	c.expandPaths(userHome)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func decode(data []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // an empty file is an empty config
		return err
	}
	return nil
}

func applyEnv(c *Config, env Env) error {
	if v, ok := env(EnvModel); ok && v != "" {
		c.DefaultModel = v
	}
	if v, ok := env(EnvAddr); ok && v != "" {
		c.Serve.Addr = v
	}
	if v, ok := env(EnvThreads); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fault.New(fault.Invalid, "%s=%q: not a number", EnvThreads, v)
		}
		c.Engine.Threads = n
	}
	if v, ok := env(EnvLogLevel); ok && v != "" {
		c.Log.Level = v
	}
	if v, ok := env(EnvServeAPIKey); ok && v != "" {
		c.Serve.APIKeys = append(c.Serve.APIKeys, Secret(v))
	}
	if v, ok := env(EnvOpenAIKey); ok && v != "" {
		for i := range c.Backends {
			if c.Backends[i].APIKey == "" && strings.HasPrefix(c.Backends[i].URL, "openai+") {
				c.Backends[i].APIKey = Secret(v)
			}
		}
		c.fallbackOpenAIKey = Secret(v)
	}
	if v, ok := env(EnvOllamaHost); ok && v != "" && c.Ollama.Host == "" {
		c.Ollama.Host = strings.TrimPrefix(strings.TrimPrefix(v, "http://"), "https://")
	}
	if v, ok := env(EnvOllamaModels); ok && v != "" && c.Ollama.ModelsDir == "" {
		c.Ollama.ModelsDir = v
	}
	if v, ok := env(EnvHFCache); ok && v != "" && c.HuggingFaceCache == "" {
		c.HuggingFaceCache = v
	}
	return nil
}

func applyFlags(c *Config, f Flags) {
	if f.Model != "" {
		c.DefaultModel = f.Model
	}
	if f.Addr != "" {
		c.Serve.Addr = f.Addr
	}
	if f.Threads != 0 {
		c.Engine.Threads = f.Threads
	}
	if f.LogLevel != "" {
		c.Log.Level = f.LogLevel
	}
}

func (c *Config) expandPaths(userHome string) {
	c.Home = expand(c.Home, userHome)
	for i, d := range c.ModelDirs {
		c.ModelDirs[i] = expand(d, userHome)
	}
	c.Ollama.ModelsDir = expand(c.Ollama.ModelsDir, userHome)
	c.HuggingFaceCache = expand(c.HuggingFaceCache, userHome)
	c.Serve.Workspace = expand(c.Serve.Workspace, userHome)
	for k, v := range c.Models {
		c.Models[k] = expandRef(v, userHome)
	}
}

// expand replaces a leading ~ with the user's home folder.
func expand(p, userHome string) string {
	if p == "~" {
		return userHome
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(userHome, p[2:])
	}
	return p
}

func expandRef(ref, userHome string) string {
	if rest, ok := strings.CutPrefix(ref, "gguf:"); ok {
		return "gguf:" + expand(rest, userHome)
	}
	return expand(ref, userHome)
}

// Validate checks the configuration and names the offending field.
func (c *Config) Validate() error {
	var errs []string
	if !filepath.IsAbs(c.Home) {
		errs = append(errs, fmt.Sprintf("home %q: must be an absolute path", c.Home))
	}
	if c.Engine.Threads < 1 || c.Engine.Threads > 1024 {
		errs = append(errs, fmt.Sprintf("engine.threads %d: must be 1..1024", c.Engine.Threads))
	}
	if c.Engine.ContextLength < 0 {
		errs = append(errs, fmt.Sprintf("engine.context_length %d: must be ≥ 0", c.Engine.ContextLength))
	}
	if c.Serve.MaxConcurrent < 1 {
		errs = append(errs, fmt.Sprintf("serve.max_concurrent %d: must be ≥ 1", c.Serve.MaxConcurrent))
	}
	if c.Serve.MaxQueue < 0 {
		errs = append(errs, fmt.Sprintf("serve.max_queue %d: must be ≥ 0", c.Serve.MaxQueue))
	}
	if c.Serve.MaxBodyBytes < 1024 {
		errs = append(errs, fmt.Sprintf("serve.max_body_bytes %d: must be ≥ 1024", c.Serve.MaxBodyBytes))
	}
	if c.Serve.Workspace != "" && !filepath.IsAbs(c.Serve.Workspace) {
		errs = append(errs, fmt.Sprintf("serve.workspace %q: must be an absolute path (or start with ~/)", c.Serve.Workspace))
	}
	if c.Ollama.NumCtx < 0 {
		errs = append(errs, fmt.Sprintf("ollama.num_ctx %d: must be ≥ 0", c.Ollama.NumCtx))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Sprintf("log.level %q: must be debug, info, warn or error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Sprintf("log.format %q: must be text or json", c.Log.Format))
	}
	for i, b := range c.Backends {
		if !strings.HasPrefix(b.URL, "openai+http://") && !strings.HasPrefix(b.URL, "openai+https://") &&
			!strings.HasPrefix(b.URL, "ollama://") {
			errs = append(errs, fmt.Sprintf("backends[%d].url %q: must start with openai+http://, openai+https:// or ollama://", i, b.URL))
		}
	}
	for _, k := range sortedKeys(c.Models) {
		if strings.TrimSpace(c.Models[k]) == "" {
			errs = append(errs, fmt.Sprintf("models.%s: empty model reference", k))
		}
	}
	errs = c.Memory.validate(errs)
	errs = c.Tools.validate(errs)
	if len(errs) > 0 {
		return fault.New(fault.Invalid, "invalid configuration: %s", strings.Join(errs, "; "))
	}
	return nil
}

// ResolveModel turns a name into a model reference: an alias from Models, or the name itself.
func (c *Config) ResolveModel(name string) string {
	if name == "" {
		name = c.DefaultModel
	}
	if ref, ok := c.Models[name]; ok {
		return ref
	}
	return name
}

// APIKeyFor returns the API key of the configured backend whose URL prefixes ref, or the fallback
// key from the environment for openai URLs.
func (c *Config) APIKeyFor(ref string) Secret {
	best := -1
	var key Secret
	for _, b := range c.Backends {
		if strings.HasPrefix(ref, strings.TrimSuffix(b.URL, "/")) && len(b.URL) > best && b.APIKey != "" {
			best, key = len(b.URL), b.APIKey
		}
	}
	if key == "" && strings.HasPrefix(ref, "openai+") {
		key = c.fallbackOpenAIKey
	}
	return key
}

// Redacted returns the configuration as YAML with every secret redacted.
func (c *Config) Redacted() ([]byte, error) {
	return yaml.Marshal(c)
}

// RedactedValue returns the redacted configuration as plain maps and lists, for JSON output.
func (c *Config) RedactedValue() (any, error) {
	out, err := c.Redacted()
	if err != nil {
		return nil, err
	}
	var v any
	if err := yaml.Unmarshal(out, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
