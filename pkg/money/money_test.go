package money_test

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	moneypb "google.golang.org/genproto/googleapis/type/money"

	"github.com/aftersales/aftersales/pkg/money"
)

func TestFromProto(t *testing.T) {
	cases := []struct {
		in   *moneypb.Money
		want int64
		err  error
	}{
		{&moneypb.Money{CurrencyCode: "CNY", Units: 12, Nanos: 340_000_000}, 1234, nil},
		{&moneypb.Money{CurrencyCode: "CNY", Units: -1, Nanos: -750_000_000}, -175, nil},
		{&moneypb.Money{CurrencyCode: "JPY", Units: 500}, 500, nil},
		{&moneypb.Money{CurrencyCode: "BHD", Units: 1, Nanos: 5_000_000}, 1005, nil},
		{&moneypb.Money{CurrencyCode: "CNY", Units: 1, Nanos: 5_000_000}, 0, money.ErrPrecision},
		{&moneypb.Money{CurrencyCode: "JPY", Nanos: 500_000_000}, 0, money.ErrPrecision},
		{&moneypb.Money{CurrencyCode: "CNY", Units: 1, Nanos: -1}, 0, money.ErrRange},
		{&moneypb.Money{CurrencyCode: "CNY", Nanos: 1_000_000_000}, 0, money.ErrRange},
		{&moneypb.Money{CurrencyCode: "CNY", Units: math.MaxInt64}, 0, money.ErrRange},
		{&moneypb.Money{CurrencyCode: "XYZ", Units: 1}, 0, money.ErrCurrency},
		{&moneypb.Money{CurrencyCode: "cny", Units: 1}, 0, money.ErrCurrency},
		{&moneypb.Money{Units: 1}, 0, money.ErrCurrency},
		{nil, 0, money.ErrRange},
	}
	for _, c := range cases {
		got, err := money.FromProto(c.in)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("FromProto(%v) error %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got.Minor != c.want {
			t.Errorf("FromProto(%v) = %v, %v; want %d", c.in, got, err, c.want)
		}
	}
}

// TestRoundTrip: every amount in every currency survives the trip to
// google.type.Money and back, and its decimal string reads back the same.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	codes := []string{"CNY", "EUR", "USD", "JPY", "KRW", "BHD", "KWD", "CLF"}
	for range 100000 {
		a := money.Amount{Currency: codes[r.IntN(len(codes))], Minor: r.Int64() >> r.IntN(63)}
		if r.IntN(2) == 0 {
			a.Minor = -a.Minor
		}
		back, err := money.FromProto(a.Proto())
		if err != nil || back != a {
			t.Fatalf("%v → %v → %v, %v", a, a.Proto(), back, err)
		}
		d, _ := money.Digits(a.Currency)
		want := new(big.Rat).SetFrac(big.NewInt(a.Minor), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil))
		if got := a.String(); got != want.FloatString(d) {
			t.Fatalf("%v.String() = %s, want %s", a, got, want.FloatString(d))
		}
	}
}

// TestSplitNeverLosesACent shares random totals among random weights: the
// shares always add up to the total exactly, and each is within one minor
// unit of its exact proportion.
func TestSplitNeverLosesACent(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		n := 1 + r.IntN(12)
		weights := make([]int64, n)
		var wsum big.Int
		for i := range weights {
			switch r.IntN(4) {
			case 0:
				weights[i] = 0
			case 1:
				weights[i] = r.Int64N(100)
			default:
				weights[i] = r.Int64N(1 << (10 + r.IntN(40)))
			}
			wsum.Add(&wsum, big.NewInt(weights[i]))
		}
		total := r.Int64N(1 << (1 + r.IntN(50)))
		shares := money.Split(total, weights)
		var got int64
		for i, s := range shares {
			if s < 0 {
				t.Fatalf("negative share %d of %d by %v", s, total, weights)
			}
			got += s
			if wsum.Sign() == 0 {
				continue
			}
			exact := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(total), big.NewInt(weights[i])), &wsum)
			diff := new(big.Rat).Sub(exact, new(big.Rat).SetInt64(s))
			if diff.Abs(diff).Cmp(big.NewRat(1, 1)) >= 0 {
				t.Fatalf("share %d of %d by %v is %s from its proportion", s, total, weights, diff.FloatString(3))
			}
		}
		if got != total {
			t.Fatalf("Split(%d, %v) = %v adds up to %d", total, weights, shares, got)
		}
	}
}

// TestDivRoundHalfEven checks against exact rational arithmetic.
func TestDivRoundHalfEven(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		a := money.Amount{Currency: "CNY", Minor: r.Int64N(1<<40) - 1<<39}
		n := 1 + r.Int64N(1000)
		got := a.DivRound(n).Minor
		exact := new(big.Rat).SetFrac64(a.Minor, n)
		floor := new(big.Int).Div(exact.Num(), exact.Denom()) // Euclidean: floor for positive denominators
		frac := new(big.Rat).Sub(exact, new(big.Rat).SetInt(floor))
		want := floor.Int64()
		switch frac.Cmp(big.NewRat(1, 2)) {
		case 1:
			want++
		case 0:
			if want%2 != 0 {
				want++
			}
		}
		if got != want {
			t.Fatalf("%d / %d = %d, want %d", a.Minor, n, got, want)
		}
	}
}

func TestArithmetic(t *testing.T) {
	cny := func(m int64) money.Amount { return money.Amount{Currency: "CNY", Minor: m} }
	if _, err := cny(1).Add(money.Amount{Currency: "EUR", Minor: 1}); !errors.Is(err, money.ErrMismatch) {
		t.Errorf("CNY + EUR: %v", err)
	}
	if _, err := cny(math.MaxInt64).Add(cny(1)); !errors.Is(err, money.ErrRange) {
		t.Errorf("overflowing sum: %v", err)
	}
	if _, err := cny(math.MaxInt64 / 2).Mul(3); !errors.Is(err, money.ErrRange) {
		t.Errorf("overflowing product: %v", err)
	}
	if s, err := money.Sum("CNY", cny(150), cny(-50), cny(1)); err != nil || s != cny(101) {
		t.Errorf("Sum = %v, %v", s, err)
	}
	if _, err := money.Sum("CNY", cny(1), money.Amount{Currency: "USD", Minor: 1}); !errors.Is(err, money.ErrMismatch) {
		t.Errorf("mixed Sum: %v", err)
	}
	if got := (money.Amount{Currency: "CNY", Minor: -5}).String(); got != "-0.05" {
		t.Errorf("String = %s", got)
	}
}
