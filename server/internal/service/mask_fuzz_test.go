package service

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
)

// maskUpdatables are the update masks' allow-lists of the Update methods.
var maskUpdatables = [][]string{
	complaintUpdatable, customerUpdatable, customerSelfUpdatable, followUpUpdatable, partnerUpdatable,
	productUpdatable, slaPolicyUpdatable, staffUpdatable, staffPartnerUpdatable, ticketUpdatable,
	ticketWorkerUpdatable, courseUpdatable, webhookUpdatable,
}

// FuzzUpdatePaths checks updatePaths (and maskPaths under it) on every
// Update method's allow-list. Any mask: no panic, and either paths that
// are all updatable or INVALID_ARGUMENT INVALID_UPDATE_MASK with a
// violation of update_mask. A mask built from the allow-list (picked by
// pick, in proto or JSON spelling, with the ignored name and etag mixed
// in) is accepted and yields the picked fields.
func FuzzUpdatePaths(f *testing.F) {
	f.Add(uint8(0), "title,description", uint32(3))
	f.Add(uint8(9), "feeQuote", uint32(1))
	f.Add(uint8(7), "*", uint32(0))
	f.Add(uint8(1), "name,etag", uint32(0))
	f.Add(uint8(2), "", uint32(0))
	f.Add(uint8(3), "display_name,,Phone,name.x,../,\x00", uint32(77))
	f.Fuzz(func(t *testing.T, which uint8, paths string, pick uint32) {
		updatable := maskUpdatables[int(which)%len(maskUpdatables)]

		var mask *fieldmaskpb.FieldMask
		if paths != "" {
			mask = &fieldmaskpb.FieldMask{Paths: strings.Split(paths, ",")}
		}
		got, err := updatePaths(mask, updatable)
		if err != nil {
			requireMaskError(t, err)
		} else {
			if mask == nil {
				require.Equal(t, updatable, got)
			}
			for _, p := range got {
				require.Contains(t, updatable, p, "mask %q", paths)
			}
		}

		// A valid mask: some updatable fields, each spelt as in proto or
		// as in JSON, with the name and etag the gateway adds.
		var want []string
		mask = &fieldmaskpb.FieldMask{}
		for i, p := range updatable {
			if pick>>uint(i%32)&1 == 0 {
				continue
			}
			want = append(want, p)
			if pick>>uint((i+16)%32)&1 == 1 {
				p = jsonName(p)
			}
			mask.Paths = append(mask.Paths, p)
		}
		if pick&(1<<31) != 0 {
			mask.Paths = append(mask.Paths, "name", "etag")
		}
		got, err = updatePaths(mask, updatable)
		switch {
		case len(want) > 0:
			require.NoError(t, err, "mask %v", mask.GetPaths())
			require.Equal(t, want, got)
		case len(mask.GetPaths()) > 0:
			// Only name and etag: nothing to update.
			requireMaskError(t, err)
		default:
			require.NoError(t, err)
			require.Equal(t, updatable, got)
		}
		named := slices.DeleteFunc(maskPaths(mask), func(p string) bool { return p == "name" || p == "etag" })
		require.Equal(t, len(want), len(named))
		if len(want) > 0 {
			require.Equal(t, want, named, "maskPaths reads JSON names as proto names")
		}
	})
}

// requireMaskError asserts the refusal of an update mask.
func requireMaskError(t *testing.T, err error) {
	t.Helper()
	require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
	require.Equal(t, aftersalesv1.ErrorReason_INVALID_UPDATE_MASK, apierr.Reason(err), "%v", err)
	vs := apierr.FieldViolations(err)
	require.Len(t, vs, 1)
	require.Equal(t, "update_mask", vs[0].Field)
	require.NotEmpty(t, vs[0].Description)
}

// jsonName is the lowerCamelCase JSON name of a snake_case field.
func jsonName(p string) string {
	parts := strings.Split(p, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
