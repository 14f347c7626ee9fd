package config

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Setting describes one setting, for documentation.
type Setting struct {
	// Flag is the flag name without dashes, for example "grpc-addr".
	Flag string
	// Env is the environment variable, for example "AFTERSALES_GRPC_ADDR".
	Env string
	// Default is the built-in default as the flag would parse it.
	Default string
	// Description says what the setting does.
	Description string
}

// Settings lists every setting, sorted by flag name.
func Settings() []Setting {
	c := Default()
	var out []Setting
	flagSet(&c).VisitAll(func(f *flag.Flag) {
		out = append(out, Setting{Flag: f.Name, Env: EnvName(f.Name), Default: f.DefValue, Description: f.Usage})
	})
	return out
}

// Markdown returns the settings as a Markdown table, for the README.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| Flag | Environment variable | Default | Description |\n")
	b.WriteString("| --- | --- | --- | --- |\n")
	for _, s := range Settings() {
		def := "`" + s.Default + "`"
		if s.Default == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&b, "| `--%s` | `%s` | %s | %s |\n", s.Flag, s.Env, def, strings.ReplaceAll(s.Description, "|", `\|`))
	}
	return b.String()
}

// Usage writes the command-line help to w.
func Usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: aftersales [%s|%s] [flags]\n\n", CommandServe, CommandMigrate)
	fmt.Fprintf(w, "Commands:\n  %-8s serve the gRPC and JSON APIs (default)\n  %-8s apply database migrations and exit\n\n", CommandServe, CommandMigrate)
	fmt.Fprintf(w, "Flags (each also read from its environment variable; the flag wins):\n")
	for _, s := range Settings() {
		fmt.Fprintf(w, "  --%s (%s, default %q)\n      %s\n", s.Flag, s.Env, s.Default, s.Description)
	}
}
