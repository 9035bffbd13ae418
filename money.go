package admit

import (
	"strings"

	"golang.org/x/text/currency"
)

// Money is an integer count of minor units of an ISO 4217 currency: 1050 EUR
// is 10.50 €, 1050 JPY is ¥1050. Never a float.
type Money struct {
	Amount   int64  `json:"amount" doc:"Integer count of the currency's minor units (cents for EUR)"`
	Currency string `json:"currency" doc:"ISO 4217 code such as EUR, USD, JPY" example:"EUR"`
}

// MaxAmount bounds prices so that totals of many tickets cannot overflow.
const MaxAmount = 1_000_000_000_00

// ValidCurrency reports whether code is an ISO 4217 currency in use.
func ValidCurrency(code string) bool {
	if len(code) != 3 || strings.ToUpper(code) != code {
		return false
	}
	u, err := currency.ParseISO(code)
	return err == nil && u.String() == code && !notMoney[code]
}

// notMoney are ISO 4217 codes nobody pays a ticket in: precious metals,
// the IMF's units of account, bond-market units, and the codes for testing
// and for "no currency".
var notMoney = map[string]bool{
	"XAU": true, "XAG": true, "XPD": true, "XPT": true, "XDR": true, "XSU": true, "XUA": true,
	"XBA": true, "XBB": true, "XBC": true, "XBD": true, "XTS": true, "XXX": true,
}

// validate records problems with m under location.
func (m Money) validate(p *Problems, location string) {
	if m.Amount < 0 || m.Amount > MaxAmount {
		p.Add(location+".amount", "must be between 0 and %d minor units", int64(MaxAmount))
	}
	if !ValidCurrency(m.Currency) {
		p.Add(location+".currency", "must be an ISO 4217 currency code such as EUR")
	}
}
