// Package money holds exact amounts of money: an integer count of a
// currency's minor unit (fen for CNY, cents for EUR, yen for JPY), never a
// float. It converts to and from google.type.Money (units + nanos), refusing
// amounts finer than the minor unit rather than rounding them, and does the
// few calculations the fee schedule, quotes and settlements need without
// losing or inventing a minor unit: checked sums and products, a share of a
// total split in proportion to weights, and a division rounded half to even.
//
// Which currencies exist and how many decimal digits each has comes from
// CLDR through github.com/bojanz/currency, so the table is not ours to keep.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/bojanz/currency"
	moneypb "google.golang.org/genproto/googleapis/type/money"
)

// Amount is an exact amount: Minor units of Currency (ISO 4217).
type Amount struct {
	Currency string
	Minor    int64
}

// Errors callers tell apart (wrapped with the detail).
var (
	// ErrCurrency is an unknown or missing currency code.
	ErrCurrency = errors.New("not an ISO 4217 currency code")
	// ErrMismatch is arithmetic over two currencies.
	ErrMismatch = errors.New("currencies differ")
	// ErrPrecision is an amount finer than the currency's minor unit.
	ErrPrecision = errors.New("finer than the currency's minor unit")
	// ErrRange is an amount out of range, or a malformed units/nanos pair.
	ErrRange = errors.New("out of range")
)

// pow10 are the powers of ten up to 10^18.
var pow10 = func() [19]int64 {
	var p [19]int64
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// Digits returns how many decimal digits the currency's minor unit has
// (2 for CNY, 0 for JPY, 3 for BHD).
func Digits(code string) (int, error) {
	if len(code) != 3 || !currency.IsValid(code) {
		return 0, fmt.Errorf("%q: %w", code, ErrCurrency)
	}
	d, _ := currency.GetDigits(code)
	return int(d), nil
}

// Zero is no money in currency code.
func Zero(code string) Amount { return Amount{Currency: code} }

// FromProto converts google.type.Money exactly. A missing message is
// ErrRange; a currency CLDR does not know, ErrCurrency; units and nanos
// of opposite signs or |nanos| ≥ 1e9, ErrRange; a fraction of the minor
// unit, ErrPrecision.
func FromProto(m *moneypb.Money) (Amount, error) {
	if m == nil {
		return Amount{}, fmt.Errorf("missing amount: %w", ErrRange)
	}
	d, err := Digits(m.GetCurrencyCode())
	if err != nil {
		return Amount{}, err
	}
	units, nanos := m.GetUnits(), int64(m.GetNanos())
	if nanos <= -1e9 || nanos >= 1e9 || (units > 0 && nanos < 0) || (units < 0 && nanos > 0) {
		return Amount{}, fmt.Errorf("units %d and nanos %d: %w", units, nanos, ErrRange)
	}
	step := pow10[9-d] // nanos per minor unit
	if nanos%step != 0 {
		return Amount{}, fmt.Errorf("%s has %d decimal digits: %w", m.GetCurrencyCode(), d, ErrPrecision)
	}
	scale := pow10[d]
	if units > math.MaxInt64/scale || units < math.MinInt64/scale {
		return Amount{}, fmt.Errorf("%d units: %w", units, ErrRange)
	}
	minor := units*scale + nanos/step // cannot overflow: |nanos/step| < scale
	return Amount{Currency: m.GetCurrencyCode(), Minor: minor}, nil
}

// Proto returns a as google.type.Money.
func (a Amount) Proto() *moneypb.Money {
	d, err := Digits(a.Currency)
	if err != nil {
		// Amounts are only made from valid currencies; keep the value
		// visible rather than panic on a programming error.
		return &moneypb.Money{CurrencyCode: a.Currency, Units: a.Minor}
	}
	scale := pow10[d]
	return &moneypb.Money{
		CurrencyCode: a.Currency,
		Units:        a.Minor / scale,
		Nanos:        int32((a.Minor % scale) * pow10[9-d]),
	}
}

// String returns the amount as a decimal with the currency's digits, for
// example "1234.50" for 123450 fen: what a spreadsheet reads exactly.
func (a Amount) String() string {
	d, err := Digits(a.Currency)
	if err != nil || d == 0 {
		return strconv.FormatInt(a.Minor, 10)
	}
	sign, m := "", a.Minor
	if m < 0 {
		sign = "-"
	}
	s := strconv.FormatUint(absU(m), 10)
	if len(s) <= d {
		s = strings.Repeat("0", d-len(s)+1) + s
	}
	return sign + s[:len(s)-d] + "." + s[len(s)-d:]
}

func absU(m int64) uint64 {
	if m < 0 {
		return uint64(-(m + 1)) + 1
	}
	return uint64(m)
}

// Add returns a + b, which must be in the same currency.
func (a Amount) Add(b Amount) (Amount, error) {
	if a.Currency != b.Currency {
		return Amount{}, fmt.Errorf("%s and %s: %w", a.Currency, b.Currency, ErrMismatch)
	}
	s := a.Minor + b.Minor
	if (b.Minor > 0 && s < a.Minor) || (b.Minor < 0 && s > a.Minor) {
		return Amount{}, fmt.Errorf("sum: %w", ErrRange)
	}
	return Amount{Currency: a.Currency, Minor: s}, nil
}

// Sub returns a - b, which must be in the same currency.
func (a Amount) Sub(b Amount) (Amount, error) {
	if b.Minor == math.MinInt64 {
		return Amount{}, fmt.Errorf("difference: %w", ErrRange)
	}
	return a.Add(Amount{Currency: b.Currency, Minor: -b.Minor})
}

// Mul returns a × q.
func (a Amount) Mul(q int64) (Amount, error) {
	p := new(big.Int).Mul(big.NewInt(a.Minor), big.NewInt(q))
	if !p.IsInt64() {
		return Amount{}, fmt.Errorf("%d × %d: %w", a.Minor, q, ErrRange)
	}
	return Amount{Currency: a.Currency, Minor: p.Int64()}, nil
}

// Sum adds amounts in currency code; an amount in another currency is
// ErrMismatch.
func Sum(code string, amounts ...Amount) (Amount, error) {
	total := Zero(code)
	for _, x := range amounts {
		var err error
		if total, err = total.Add(x); err != nil {
			return Amount{}, err
		}
	}
	return total, nil
}

// DivRound returns a / n rounded to the minor unit, half to even (the
// rounding that is unbiased over many divisions). n must be positive.
func (a Amount) DivRound(n int64) Amount {
	if n <= 0 {
		panic("money: DivRound by a non-positive count")
	}
	q, r := a.Minor/n, a.Minor%n
	// Compare 2|r| with n without overflow: |r| < n ≤ MaxInt64.
	twice := new(big.Int).Mul(big.NewInt(absI(r)), big.NewInt(2))
	switch twice.Cmp(big.NewInt(n)) {
	case 1:
		q += sign(a.Minor)
	case 0:
		if q%2 != 0 {
			q += sign(a.Minor)
		}
	}
	return Amount{Currency: a.Currency, Minor: q}
}

func absI(x int64) int64 {
	if x < 0 {
		return -x // |r| < n, so never MinInt64
	}
	return x
}

func sign(x int64) int64 {
	if x < 0 {
		return -1
	}
	return 1
}

// Split shares total among weights in proportion to them by the largest
// remainder method: every share is within one minor unit of its exact
// proportion, and the shares add up to total exactly. total and the
// weights must not be negative; with every weight zero, total is shared
// equally (the first shares get the remainder).
func Split(total int64, weights []int64) []int64 {
	shares := make([]int64, len(weights))
	if len(weights) == 0 {
		return shares
	}
	var sum big.Int
	for _, w := range weights {
		if w < 0 || total < 0 {
			panic("money: Split of a negative amount")
		}
		sum.Add(&sum, big.NewInt(w))
	}
	if sum.Sign() == 0 {
		ones := make([]int64, len(weights))
		for i := range ones {
			ones[i] = 1
		}
		return Split(total, ones)
	}
	type rem struct {
		i int
		r big.Int
	}
	rems := make([]rem, len(weights))
	var given int64
	bt := big.NewInt(total)
	for i, w := range weights {
		var p, q big.Int
		p.Mul(bt, big.NewInt(w))
		q.QuoRem(&p, &sum, &rems[i].r)
		rems[i].i = i
		shares[i] = q.Int64() // ≤ total
		given += shares[i]
	}
	// The units left over (fewer than len(weights)) go to the largest
	// remainders, the earlier line first on a tie, so the result is
	// deterministic.
	left := total - given
	for ; left > 0; left-- {
		best := -1
		for k := range rems {
			if rems[k].r.Sign() < 0 {
				continue // already given one
			}
			if best < 0 || rems[k].r.Cmp(&rems[best].r) > 0 {
				best = k
			}
		}
		shares[rems[best].i]++
		rems[best].r.SetInt64(-1)
	}
	return shares
}
