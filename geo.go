package admit

import (
	"context"
	"strings"
	"time"
)

// Country is an ISO 3166-1 country; the list is seeded by a migration.
type Country struct {
	Code string `json:"code" doc:"ISO 3166-1 alpha-2 code" example:"DE"`
	Name string `json:"name" example:"Germany"`
}

// City is where events happen; its time zone is the events' zone.
type City struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Country    string   `json:"country" doc:"ISO 3166-1 alpha-2 code" example:"DE"`
	TimeZone   string   `json:"time_zone" doc:"IANA time zone" example:"Europe/Berlin"`
	Latitude   *float64 `json:"latitude,omitempty"`
	Longitude  *float64 `json:"longitude,omitempty"`
	EventCount int64    `json:"event_count" doc:"Published upcoming events in the city"`
}

// CityUpdate changes the non-nil fields of a city.
type CityUpdate struct {
	Name      *string  `json:"name,omitempty"`
	Country   *string  `json:"country,omitempty"`
	TimeZone  *string  `json:"time_zone,omitempty"`
	Latitude  *float64 `json:"latitude,omitempty"`
	Longitude *float64 `json:"longitude,omitempty"`
}

// Apply copies the set fields onto c.
func (u CityUpdate) Apply(c *City) {
	set(&c.Name, u.Name)
	set(&c.Country, u.Country)
	set(&c.TimeZone, u.TimeZone)
	setPtr(&c.Latitude, u.Latitude)
	setPtr(&c.Longitude, u.Longitude)
}

// Normalize trims names and uppercases the country code.
func (c *City) Normalize() {
	c.Name = strings.TrimSpace(c.Name)
	c.Country = strings.ToUpper(strings.TrimSpace(c.Country))
	c.TimeZone = strings.TrimSpace(c.TimeZone)
}

// Validate checks a city (the country's existence is checked by storage).
func (c *City) Validate() error {
	var p Problems
	checkLine(&p, "body.name", c.Name, 1, 200)
	if len(c.Country) != 2 {
		p.Add("body.country", "must be an ISO 3166-1 alpha-2 code such as DE")
	}
	if _, err := LoadZone(c.TimeZone); err != nil {
		p.Add("body.time_zone", "must be an IANA time zone such as Europe/Berlin")
	}
	checkCoordinates(&p, c.Latitude, c.Longitude)
	return p.Err()
}

// Location is a venue in a city. OrganizationID is empty for venues shared by
// all organizers (created by an admin).
type Location struct {
	ID             string   `json:"id"`
	CityID         string   `json:"city_id"`
	OrganizationID string   `json:"organization_id,omitempty"`
	Name           string   `json:"name"`
	Address        string   `json:"address"`
	Capacity       int64    `json:"capacity" doc:"Informational; ticket quantities are what is sold"`
	Latitude       *float64 `json:"latitude,omitempty"`
	Longitude      *float64 `json:"longitude,omitempty"`
}

// LocationUpdate changes the non-nil fields of a location.
type LocationUpdate struct {
	Name      *string  `json:"name,omitempty"`
	Address   *string  `json:"address,omitempty"`
	Capacity  *int64   `json:"capacity,omitempty"`
	Latitude  *float64 `json:"latitude,omitempty"`
	Longitude *float64 `json:"longitude,omitempty"`
}

// Apply copies the set fields onto l.
func (u LocationUpdate) Apply(l *Location) {
	set(&l.Name, u.Name)
	set(&l.Address, u.Address)
	set(&l.Capacity, u.Capacity)
	setPtr(&l.Latitude, u.Latitude)
	setPtr(&l.Longitude, u.Longitude)
}

// Validate checks a location.
func (l *Location) Validate() error {
	var p Problems
	l.Name, l.Address = strings.TrimSpace(l.Name), strings.TrimSpace(l.Address)
	if l.CityID == "" {
		p.Add("body.city_id", "is required")
	}
	checkLine(&p, "body.name", l.Name, 1, 200)
	checkText(&p, "body.address", l.Address, 0, 500)
	if l.Capacity < 0 || l.Capacity > 10_000_000 {
		p.Add("body.capacity", "must be between 0 and 10000000")
	}
	checkCoordinates(&p, l.Latitude, l.Longitude)
	return p.Err()
}

// LocationFilter selects venues.
type LocationFilter struct {
	CityID  string
	EventID string // only the venue of this event
	Page    Page
}

// CityFilter selects cities that have published upcoming events.
type CityFilter struct {
	Country string
	Page    Page
}

// GeoService manages countries, cities and venues.
type GeoService interface {
	ListCountries(ctx context.Context) ([]Country, error)
	// ListCities returns cities with published upcoming events and their counts.
	ListCities(ctx context.Context, f CityFilter) ([]City, string, error)
	FindCity(ctx context.Context, id string) (*City, error)
	// CreateCity, UpdateCity, DeleteCity: admins only (EFORBIDDEN);
	// ECONFLICT for a duplicate name in a country or a city still in use.
	CreateCity(ctx context.Context, c *City) error
	UpdateCity(ctx context.Context, id string, u CityUpdate) (*City, error)
	DeleteCity(ctx context.Context, id string) error

	ListLocations(ctx context.Context, f LocationFilter) ([]Location, string, error)
	FindLocation(ctx context.Context, id string) (*Location, error)
	// CreateLocation etc.: organizers for their organization, admins (EFORBIDDEN).
	CreateLocation(ctx context.Context, l *Location) error
	UpdateLocation(ctx context.Context, id string, u LocationUpdate) (*Location, error)
	DeleteLocation(ctx context.Context, id string) error
}

// LoadZone loads an IANA zone, refusing the empty name and "Local", which
// time.LoadLocation accepts but which mean nothing to an event's audience.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, Errorf(EINVALID, "unknown time zone %q", name)
	}
	return time.LoadLocation(name)
}

func checkCoordinates(p *Problems, lat, lon *float64) {
	if lat != nil && (*lat < -90 || *lat > 90) {
		p.Add("body.latitude", "must be between -90 and 90")
	}
	if lon != nil && (*lon < -180 || *lon > 180) {
		p.Add("body.longitude", "must be between -180 and 180")
	}
}

func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func setPtr[T any](dst **T, src *T) {
	if src != nil {
		v := *src
		*dst = &v
	}
}
