package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/assist-chat/assist/server/internal/limits"
)

func parse(t *testing.T, args []string, env map[string]string) (options, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var o options
	fs := o.flags()
	fs.SetOutput(new(bytes.Buffer))
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	return o, o.fromEnvironment(fs)
}

// A bad value in the environment is refused with a message naming the
// variable, not silently replaced by the default.
func TestBadEnvironmentValuesAreRefused(t *testing.T) {
	for env, val := range map[string]string{
		"ASSIST_MAX_MESSAGE_BYTES":     "2MB",
		"ASSIST_RATE_START_SESSION":    "lots",
		"ASSIST_UNARY_BODY_TIMEOUT":    "10",
		"ASSIST_MAX_CONNS_PER_ADDRESS": "many",
	} {
		t.Run(env, func(t *testing.T) {
			_, err := parse(t, nil, map[string]string{env: val})
			if err == nil || !strings.Contains(err.Error(), env) {
				t.Errorf("%s=%s: %v, want an error naming the variable", env, val, err)
			}
		})
	}
}

// --help shows the defaults, never the environment's values, so a secret
// in ASSIST_DATABASE_URL is not printed.
func TestHelpPrintsNoEnvironmentValues(t *testing.T) {
	t.Setenv("ASSIST_DATABASE_URL", "postgres://assist:s3cret@db/assist")
	t.Setenv("ASSIST_ADDR", "0.0.0.0:9999")
	var o options
	fs := o.flags()
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.Usage()
	if strings.Contains(out.String(), "s3cret") || strings.Contains(out.String(), "9999") {
		t.Fatalf("--help printed environment values:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `(default "127.0.0.1:8080")`) || !strings.Contains(out.String(), "(default 30/m)") {
		t.Fatalf("--help does not show the defaults:\n%s", out.String())
	}
}

// The demo account, whose passwords are published, is created only with
// the embedded database unless asked for explicitly.
func TestDemoIsSeededOnlyForTheEmbeddedDatabaseByDefault(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want bool
	}{
		{nil, nil, true},
		{[]string{"--database-url", "postgres://db/assist"}, nil, false},
		{nil, map[string]string{"ASSIST_DATABASE_URL": "postgres://db/assist"}, false},
		{[]string{"--database-url", "postgres://db/assist", "--demo=true"}, nil, true},
		{[]string{"--demo=false"}, nil, false},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			o, err := parse(t, c.args, c.env)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := o.config(nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.SeedDemo != c.want {
				t.Errorf("args %v env %v: demo %v, want %v", c.args, c.env, cfg.SeedDemo, c.want)
			}
		})
	}
}

// A flag given on the command line wins over its variable; limits parse.
func TestFlagsWinOverTheEnvironment(t *testing.T) {
	o, err := parse(t, []string{"--addr", "127.0.0.1:7000", "--rate-login", "off"}, map[string]string{"ASSIST_ADDR": "127.0.0.1:9000", "ASSIST_UNARY_BODY_TIMEOUT": "3s"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.config(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:7000" || cfg.UnaryBodyTimeout != 3*time.Second || !cfg.LoginRate.Off() || cfg.StartSessionRate != (limits.Rate{N: 30, Period: time.Minute}) {
		t.Fatalf("config %+v", cfg)
	}
}
