// Command aftersales is the aftersales API server: gRPC on --grpc-addr and
// the same API as JSON on --http-addr. With no flags it serves on :9090 and
// :8080 with an embedded SQLite database in ./data.
//
// Run "aftersales -h" for the settings and commands: "aftersales migrate"
// applies the database migrations and exits; "aftersales keys" creates,
// lists and revokes API keys and "aftersales dev-token" prints a customer
// token for development, both working on the database directly;
// "aftersales rebuild-reports" has the servers recount the report rollups.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/auth/token"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/service"
	"github.com/aftersales/aftersales/server/internal/store"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "aftersales:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		config.Usage(os.Stdout)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w (run with -h for help)", err)
	}
	logger := app.NewLogger(os.Stderr, cfg)

	// SIGTERM is how orchestrators ask for a graceful stop. Once it has
	// begun, default handling is restored so that a second Ctrl-C kills a
	// shutdown that hangs.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()

	switch cfg.Command {
	case config.CommandMigrate:
		return app.Migrate(ctx, cfg, logger)
	case config.CommandKeys:
		return runKeys(ctx, cfg, logger, os.Stdout, os.Stderr)
	case config.CommandDevToken:
		return runDevToken(ctx, cfg, logger, os.Stdout, os.Stderr)
	case config.CommandRebuildReports:
		return app.RebuildReports(ctx, cfg, logger)
	}

	var opts []app.Option
	if cfg.CustomerTokens() {
		v, err := newVerifier(cfg)
		if err != nil {
			return err
		}
		opts = append(opts, app.WithTokenVerifier(v))
	}
	a, err := app.New(ctx, cfg, logger, opts...)
	if err != nil {
		return err
	}
	// Printed once, to the terminal rather than the log: it is a
	// credential, and it exists nowhere else.
	fmt.Fprint(os.Stderr, a.BootstrapNotice())
	return a.Run(ctx)
}

// newVerifier builds the customer-token verifier of cfg.
func newVerifier(cfg config.Config) (*token.Verifier, error) {
	v, err := token.New(token.Config{
		Issuer:       cfg.JWTIssuer,
		Audience:     cfg.JWTAudience,
		HMACSecret:   []byte(cfg.JWTHMACSecret),
		KeyFile:      cfg.JWTKeyFile,
		SubjectClaim: cfg.JWTSubjectClaim,
	})
	if err != nil {
		return nil, fmt.Errorf("customer tokens: %w", err)
	}
	return v, nil
}

// openStore opens the database for the commands that work on it
// directly. They run on the operator's machine against the server's
// database, so they migrate it (or check it) like the server would.
func openStore(ctx context.Context, cfg config.Config, logger *slog.Logger) (*store.DB, error) {
	return app.OpenStore(ctx, cfg, logger)
}

// runKeys is the keys command. It goes through the ApiKeyService
// implementation, so keys made here are checked and audited like those
// made through the API; the audit trail names the command as
// "system/keys-command".
func runKeys(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout, stderr io.Writer) error {
	db, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	keys := service.NewApiKeyServer(db, logger)
	ctx = principal.NewContext(ctx, principal.NewSystem("keys-command"))

	switch k := cfg.Keys; k.Action {
	case config.KeysCreate:
		req := &aftersalesv1.CreateApiKeyRequest{ApiKey: &aftersalesv1.ApiKey{
			DisplayName: k.DisplayName,
			Staff:       k.Staff,
			Partner:     k.Partner,
			ServiceRole: k.Role,
			CanDelegate: k.CanDelegate,
		}}
		if k.Expires > 0 {
			req.ApiKey.ExpireTime = timestamppb.New(db.Now().Add(k.Expires))
		}
		resp, err := call(ctx, keys.CreateApiKey, req)
		if err != nil {
			return err
		}
		// The key alone on stdout, so scripts can capture it; the rest
		// on stderr.
		fmt.Fprintf(stderr, "Created %s for %s. The key is shown only now:\n", resp.GetApiKey().GetName(), identity(resp.GetApiKey()))
		fmt.Fprintln(stdout, resp.GetSecret())
		return nil

	case config.KeysList:
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		// No key_prefix column: a key contains its id, so the name
		// already recognises it.
		fmt.Fprintln(w, "NAME\tIDENTITY\tDELEGATES\tCREATED\tEXPIRES\tREVOKED\tDISPLAY NAME")
		req := &aftersalesv1.ListApiKeysRequest{PageSize: 1000}
		for {
			resp, err := call(ctx, keys.ListApiKeys, req)
			if err != nil {
				return err
			}
			for _, key := range resp.GetApiKeys() {
				fmt.Fprintf(w, "%s\t%s\t%t\t%s\t%s\t%s\t%s\n", key.GetName(), identity(key), key.GetCanDelegate(),
					timeOrDash(key.GetCreateTime()), timeOrDash(key.GetExpireTime()), timeOrDash(key.GetRevokeTime()), key.GetDisplayName())
			}
			if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
				return w.Flush()
			}
		}

	case config.KeysRevoke:
		before, err := call(ctx, keys.GetApiKey, &aftersalesv1.GetApiKeyRequest{Name: k.Key})
		if err != nil {
			return err
		}
		if before.GetRevokeTime() != nil {
			fmt.Fprintf(stderr, "%s was already revoked at %s.\n", k.Key, timeOrDash(before.GetRevokeTime()))
			return nil
		}
		after, err := call(ctx, keys.RevokeApiKey, &aftersalesv1.RevokeApiKeyRequest{Name: k.Key})
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Revoked %s (%s) at %s.\n", k.Key, identity(after), timeOrDash(after.GetRevokeTime()))
		return nil
	}
	return fmt.Errorf("keys: unknown subcommand %q", cfg.Keys.Action)
}

// call validates req as the server's interceptors would, calls fn and
// turns an API error into a readable one.
func call[Req proto.Message, Resp any](ctx context.Context, fn func(context.Context, Req) (Resp, error), req Req) (Resp, error) {
	var zero Resp
	if err := protovalidate.Validate(req); err != nil {
		return zero, err
	}
	resp, err := fn(ctx, req)
	if err != nil {
		return zero, readable(err)
	}
	return resp, nil
}

// readable formats an API error for a terminal: its message (which names
// the offending fields), without the "rpc error: code = …" wrapping.
func readable(err error) error {
	if st, ok := status.FromError(err); ok {
		return errors.New(st.Message())
	}
	return err
}

// identity says whom a key acts as.
func identity(k *aftersalesv1.ApiKey) string {
	switch {
	case k.GetStaff() != "":
		return k.GetStaff()
	case k.GetPartner() != "":
		return k.GetPartner()
	}
	return "service account, role " + k.GetServiceRole().String()
}

func timeOrDash(t *timestamppb.Timestamp) string {
	if t == nil {
		return "-"
	}
	return t.AsTime().UTC().Format(time.RFC3339)
}

// runDevToken is the dev-token command: it prints a customer token for
// --customer, signed with the configured HMAC secret, issuer and audience
// so that a server with the same settings accepts it.
//
// The server finds a token's customer by external_id (the token's
// subject). A customer without one gets its own id as external_id, set
// here directly in the store (bumping its version, so etags change), and
// the command says so.
func runDevToken(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout, stderr io.Writer) error {
	// Build the verifier first: it checks issuer, audience and secret
	// before anything is changed, and checks the minted token below.
	verifier, err := newVerifier(cfg)
	if err != nil {
		return err
	}
	id, _ := resname.ID(cfg.DevToken.Customer, resname.Customers) // checked by config
	db, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.Close()

	var subject string
	assigned := false
	err = db.InTx(ctx, func(tx *gorm.DB) error {
		subject, assigned = "", false // InTx may rerun this
		var c store.Customer
		if err := store.Translate(tx.Where("id = ?", id).Take(&c).Error); err != nil {
			return err
		}
		if c.ExternalID != nil && *c.ExternalID != "" {
			subject = *c.ExternalID
			return nil
		}
		res := tx.Model(&store.Customer{}).
			Where("id = ? AND version = ?", c.ID, c.Version).
			Updates(map[string]any{"external_id": c.ID, "update_time": db.Now(), "version": c.Version + 1})
		if err := store.Translate(res.Error); err != nil {
			return err
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("%s changed while giving it an external id; run the command again", cfg.DevToken.Customer)
		}
		subject, assigned = c.ID, true
		return nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("dev-token: %s not found", cfg.DevToken.Customer)
	case errors.Is(err, store.ErrAlreadyExists):
		return fmt.Errorf("dev-token: %s has no external id, and another customer's external id is its id %q; give it one with UpdateCustomer", cfg.DevToken.Customer, id)
	case err != nil:
		return fmt.Errorf("dev-token: %w", err)
	}

	tok, err := token.Mint(token.MintConfig{
		Issuer:       cfg.JWTIssuer,
		Audience:     cfg.JWTAudience,
		Secret:       []byte(cfg.JWTHMACSecret),
		Subject:      subject,
		SubjectClaim: cfg.JWTSubjectClaim,
		TTL:          cfg.DevToken.TTL,
	})
	if err != nil {
		return fmt.Errorf("dev-token: %w", err)
	}
	if got, err := verifier.Verify(ctx, tok); err != nil || got != subject {
		return fmt.Errorf("dev-token: the minted token does not verify with these settings: %v", err)
	}
	if assigned {
		fmt.Fprintf(stderr, "%s had no external id; it is now %q, its id, which customer tokens name as their subject.\n", cfg.DevToken.Customer, subject)
	}
	fmt.Fprintf(stderr, "Token for %s, valid for %s; send it as \"authorization: Bearer <token>\":\n", cfg.DevToken.Customer, cfg.DevToken.TTL)
	fmt.Fprintln(stdout, strings.TrimSpace(tok))
	return nil
}
