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

// commandUsage is the synopsis and summary of each command, for Usage.
var commandUsage = []struct{ command, synopsis, summary string }{
	{CommandServe, "serve", "serve the gRPC and JSON APIs (default)"},
	{CommandMigrate, "migrate", "apply database migrations and exit"},
	{CommandKeys, "keys create (--staff staff/ID | --partner partners/ID | --role ROLE) [--name TEXT] [--expires 720h] [--can-delegate]",
		"issue an API key and print it; it is shown only this once"},
	{CommandKeys, "keys list", "list the API keys, revoked ones included"},
	{CommandKeys, "keys revoke apiKeys/ID", "revoke an API key, at once and for good"},
	{CommandDevToken, "dev-token --customer customers/ID [--ttl 1h]",
		"print a customer token signed with --jwt-hmac-secret, for trying the customer flow locally; gives the customer an external id (its id) if it has none"},
	{CommandRebuildReports, "rebuild-reports",
		"empty the report rollups so that the servers recount them from the tickets, follow-ups and complaints (after a change of a metric's definition); reports show the recount's progress in data_time"},
}

// Usage writes the command-line help to w.
func Usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: aftersales [command] [flags]\n\n")
	fmt.Fprintf(w, "Commands (keys and dev-token work on the database directly):\n")
	for _, u := range commandUsage {
		fmt.Fprintf(w, "  %s\n      %s\n", u.synopsis, u.summary)
	}
	for _, command := range []string{CommandKeys, CommandDevToken} {
		fmt.Fprintf(w, "\nOptions of %s:\n", command)
		c := Default()
		fs := flag.NewFlagSet(command, flag.ContinueOnError)
		commandFlags(fs, command, &c)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "0s" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(w, "  --%s%s\n      %s\n", f.Name, def, f.Usage)
		})
	}
	fmt.Fprintf(w, "\nFlags (each also read from its environment variable; the flag wins):\n")
	for _, s := range Settings() {
		fmt.Fprintf(w, "  --%s (%s, default %q)\n      %s\n", s.Flag, s.Env, s.Default, s.Description)
	}
}
