// Package principal holds who is making a call: the authenticated caller of
// an RPC, or the system itself when a background job acts.
//
// Interceptors put the Principal into the request context; handlers read it
// with FromContext. Code that runs outside a call (background jobs) puts a
// System principal into its own context so that audit records always name
// someone.
package principal

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// Kind is the kind of caller.
type Kind int

// The kinds of caller. Anonymous is the zero value so that a context without
// a principal reads as anonymous, never as someone with rights.
const (
	Anonymous Kind = iota
	Staff
	Partner
	Customer
	System
	// Service is a service account: software holding an API key that is
	// bound to a role rather than to a person or shop. Its Name is the
	// key's name, "apiKeys/{id}".
	Service
)

// String returns the lower-case kind name, for logs.
func (k Kind) String() string {
	switch k {
	case Anonymous:
		return "anonymous"
	case Staff:
		return "staff"
	case Partner:
		return "partner"
	case Customer:
		return "customer"
	case System:
		return "system"
	case Service:
		return "service"
	default:
		return fmt.Sprintf("Kind(%d)", int(k))
	}
}

// Role decides what a principal may do (API.md §5). Staff act with
// their staff role; partner shops and customers have a role of their own;
// service accounts carry the role their key was issued with.
type Role int

// The roles. None is the zero value: it may do nothing.
const (
	RoleNone Role = iota
	RoleAdmin
	RoleManager
	RoleAgent
	RoleTechnician
	RoleTrainer
	RolePartner
	RoleCustomer
)

var roleNames = [...]string{"none", "admin", "manager", "agent", "technician", "trainer", "partner", "customer"}

// String returns the lower-case role name.
func (r Role) String() string {
	if r >= 0 && int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Principal is a caller.
type Principal struct {
	Kind Kind
	// Role is what the caller may do.
	Role Role
	// Via names the credential the call came through when it differs from
	// the caller: the API key ("apiKeys/{id}") of call-center software
	// acting for an agent. Recorded next to the caller in audit records.
	Via string
	// Name is the caller's resource name, for example "staff/abc" or
	// "partners/p1" (AIP-122), so handlers can store it as is wherever the
	// API records who did something. Empty for Anonymous; for System it
	// names the job, for example "system/sla".
	Name string
}

// String returns the resource name, or the kind for a principal without
// one ("anonymous", "system").
func (p Principal) String() string {
	if p.Name != "" {
		return p.Name
	}
	return p.Kind.String()
}

// ID returns the last segment of the resource name ("abc" for "staff/abc"),
// or "" when there is none.
func (p Principal) ID() string {
	_, id, ok := strings.Cut(p.Name, "/")
	if !ok {
		return ""
	}
	return id
}

// NewSystem returns the System principal for the background job named job.
func NewSystem(job string) Principal {
	return Principal{Kind: System, Name: "system/" + job}
}

// collections maps the resource-name collection of each caller kind that
// may call the API.
var collections = map[string]Kind{
	"staff":     Staff,
	"partners":  Partner,
	"customers": Customer,
}

// idPattern is what an ID segment may hold: no slash, nothing that would
// need escaping in a log line or a URL.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$`)

// Parse parses a caller resource name: "staff/{id}", "partners/{id}" or
// "customers/{id}".
func Parse(name string) (Principal, error) {
	collection, id, ok := strings.Cut(name, "/")
	kind, known := collections[collection]
	if !ok || !known {
		return Principal{}, fmt.Errorf("must be a resource name staff/{id}, partners/{id} or customers/{id}, got %q", name)
	}
	if !idPattern.MatchString(id) {
		return Principal{}, fmt.Errorf("invalid id %q in %q: want 1-128 letters, digits or ._~- starting with a letter or digit", id, name)
	}
	return Principal{Kind: kind, Name: name}, nil
}

type contextKey struct{}

// NewContext returns a copy of ctx that carries p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

// FromContext returns the principal in ctx, or Anonymous when there is none.
func FromContext(ctx context.Context) Principal {
	p, _ := ctx.Value(contextKey{}).(Principal)
	return p
}
