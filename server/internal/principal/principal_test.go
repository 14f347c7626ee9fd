package principal_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/principal"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    principal.Principal
		wantErr bool
	}{
		{in: "staff/abc", want: principal.Principal{Kind: principal.Staff, Name: "staff/abc"}},
		{in: "partners/p-1", want: principal.Principal{Kind: principal.Partner, Name: "partners/p-1"}},
		{in: "customers/C_9", want: principal.Principal{Kind: principal.Customer, Name: "customers/C_9"}},
		{in: "", wantErr: true},
		{in: "staff", wantErr: true},
		{in: "staff/", wantErr: true},
		{in: "staff/a/b", wantErr: true},
		{in: "robots/x", wantErr: true},
		{in: "system/sla", wantErr: true},
		{in: "staff/ a", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := principal.Parse(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestContext(t *testing.T) {
	ctx := context.Background()
	require.Equal(t, principal.Anonymous, principal.FromContext(ctx).Kind)
	require.Equal(t, "anonymous", principal.FromContext(ctx).String())

	p := principal.Principal{Kind: principal.Staff, Name: "staff/abc"}
	got := principal.FromContext(principal.NewContext(ctx, p))
	require.Equal(t, p, got)
	require.Equal(t, "staff/abc", got.String())
	require.Equal(t, "abc", got.ID())

	sys := principal.NewSystem("sla")
	require.Equal(t, "system/sla", sys.String())
	require.Equal(t, principal.System, sys.Kind)
	require.Equal(t, "", principal.Principal{}.ID())
}
