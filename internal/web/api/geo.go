package api

import (
	"context"
	"net/http"
	"reflect"
	"strings"

	"github.com/admit-events/admit"
	"github.com/danielgtaylor/huma/v2"
)

type ConditionalInput struct {
	IfNoneMatch string `header:"If-None-Match" doc:"An ETag from an earlier answer: 304 when still current"`
}

type listCitiesInput struct {
	Country string `query:"country" doc:"ISO 3166-1 alpha-2 code"`
	PageQuery
	ConditionalInput
}

type listLocationsInput struct {
	City    string `query:"city" doc:"City id"`
	EventID string `query:"eid" doc:"Event id: only the venue of this event"`
	PageQuery
	ConditionalInput
}

type IDInput struct {
	ID string `path:"id" maxLength:"64" pattern:"^[a-z0-9_]+$" patternDescription:"an id"`
}

type getInput struct {
	IDInput
	ConditionalInput
}

type cityInput struct {
	Body struct {
		Name      string   `json:"name" maxLength:"200" example:"Berlin"`
		Country   string   `json:"country" minLength:"2" maxLength:"2" example:"DE"`
		TimeZone  string   `json:"time_zone" maxLength:"64" example:"Europe/Berlin"`
		Latitude  *float64 `json:"latitude,omitempty"`
		Longitude *float64 `json:"longitude,omitempty"`
	}
}

type cityUpdateInput struct {
	IDInput
	Body admit.CityUpdate
}

type locationInput struct {
	Body struct {
		CityID         string   `json:"city_id" maxLength:"64"`
		OrganizationID string   `json:"organization_id,omitempty" maxLength:"64" doc:"Owner; organizers with one organization may omit it, admins omit it for a venue shared by all"`
		Name           string   `json:"name" maxLength:"200"`
		Address        string   `json:"address,omitempty" maxLength:"500"`
		Capacity       int64    `json:"capacity,omitempty" minimum:"0" doc:"Informational"`
		Latitude       *float64 `json:"latitude,omitempty"`
		Longitude      *float64 `json:"longitude,omitempty"`
	}
}

type locationUpdateInput struct {
	IDInput
	Body admit.LocationUpdate
}

func (h *handler) registerGeo() {
	countries := op("listCountries", http.MethodGet, "/countries", "ISO 3166-1 countries", "Catalogue", public, 200)
	h.cachedResponse(&countries, reflect.TypeFor[listBody[admit.Country]]())
	huma.Register(h.api, countries, func(ctx context.Context, in *ConditionalInput) (*cachedOutput, error) {
		return h.cachedList(ctx, in.IfNoneMatch, func() (any, error) {
			cs, err := h.Geo.ListCountries(ctx)
			return listBody[admit.Country]{Items: cs}, err
		})
	})

	cities := op("listCities", http.MethodGet, "/cities", "Cities with published upcoming events", "Catalogue", public, 200)
	cities.Description = "Each city carries event_count, its published upcoming events. Ordered by name."
	h.cachedResponse(&cities, reflect.TypeFor[listBody[admit.City]]())
	huma.Register(h.api, cities, func(ctx context.Context, in *listCitiesInput) (*cachedOutput, error) {
		var p admit.Problems
		f := admit.CityFilter{Country: strings.ToUpper(in.Country), Page: pageParam(&p, in.PageQuery, "name")}
		if in.Country != "" && len(in.Country) != 2 {
			p.Add("query.country", "must be an ISO 3166-1 alpha-2 code such as DE")
		}
		if err := p.Err(); err != nil {
			return nil, h.fail(ctx, err)
		}
		return h.cachedList(ctx, in.IfNoneMatch, func() (any, error) {
			items, next, err := h.Geo.ListCities(ctx, f)
			return listBody[admit.City]{Items: items, NextCursor: next}, err
		})
	})

	getCity := op("getCity", http.MethodGet, "/cities/{id}", "A city", "Catalogue", public, 200, 404)
	h.cachedResponse(&getCity, reflect.TypeFor[admit.City]())
	huma.Register(h.api, getCity, func(ctx context.Context, in *getInput) (*cachedOutput, error) {
		c, err := h.Geo.FindCity(ctx, in.ID)
		return h.uncached(ctx, in.IfNoneMatch, c, err, false)
	})

	huma.Register(h.api, op("createCity", http.MethodPost, "/cities", "Add a city (admins)", "Catalogue", bearer, 201, 403, 409),
		func(ctx context.Context, in *cityInput) (*createdOutput[*admit.City], error) {
			b := in.Body
			c := &admit.City{Name: b.Name, Country: b.Country, TimeZone: b.TimeZone, Latitude: b.Latitude, Longitude: b.Longitude}
			out, err := written(h, ctx, c, h.Geo.CreateCity(ctx, c))
			return created(out, err, func(c *admit.City) string { return "/cities/" + c.ID })
		})

	huma.Register(h.api, op("updateCity", http.MethodPatch, "/cities/{id}", "Change a city (admins)", "Catalogue", bearer, 200, 403, 404, 409),
		func(ctx context.Context, in *cityUpdateInput) (*itemOutput[*admit.City], error) {
			c, err := h.Geo.UpdateCity(ctx, in.ID, in.Body)
			return written(h, ctx, c, err)
		})

	huma.Register(h.api, op("deleteCity", http.MethodDelete, "/cities/{id}", "Delete a city without venues or events (admins)", "Catalogue", bearer, 204, 403, 404, 409),
		func(ctx context.Context, in *IDInput) (*noContent, error) {
			return deleted(h, ctx, h.Geo.DeleteCity(ctx, in.ID))
		})

	locations := op("listLocations", http.MethodGet, "/locations", "Venues", "Catalogue", public, 200)
	locations.Description = "With city: the venues of that city. With city and eid: the venue of that event in that city. Ordered by name."
	h.cachedResponse(&locations, reflect.TypeFor[listBody[admit.Location]]())
	huma.Register(h.api, locations, func(ctx context.Context, in *listLocationsInput) (*cachedOutput, error) {
		var p admit.Problems
		f := admit.LocationFilter{CityID: idParam(&p, "city", in.City), EventID: idParam(&p, "eid", in.EventID), Page: pageParam(&p, in.PageQuery, "name")}
		if err := p.Err(); err != nil {
			return nil, h.fail(ctx, err)
		}
		return h.cachedList(ctx, in.IfNoneMatch, func() (any, error) {
			items, next, err := h.Geo.ListLocations(ctx, f)
			return listBody[admit.Location]{Items: items, NextCursor: next}, err
		})
	})

	getLocation := op("getLocation", http.MethodGet, "/locations/{id}", "A venue", "Catalogue", public, 200, 404)
	h.cachedResponse(&getLocation, reflect.TypeFor[admit.Location]())
	huma.Register(h.api, getLocation, func(ctx context.Context, in *getInput) (*cachedOutput, error) {
		l, err := h.Geo.FindLocation(ctx, in.ID)
		return h.uncached(ctx, in.IfNoneMatch, l, err, false)
	})

	huma.Register(h.api, op("createLocation", http.MethodPost, "/locations", "Add a venue (organizers, admins)", "Catalogue", bearer, 201, 403),
		func(ctx context.Context, in *locationInput) (*createdOutput[*admit.Location], error) {
			b := in.Body
			l := &admit.Location{CityID: b.CityID, OrganizationID: b.OrganizationID, Name: b.Name, Address: b.Address,
				Capacity: b.Capacity, Latitude: b.Latitude, Longitude: b.Longitude}
			out, err := written(h, ctx, l, h.Geo.CreateLocation(ctx, l))
			return created(out, err, func(l *admit.Location) string { return "/locations/" + l.ID })
		})

	huma.Register(h.api, op("updateLocation", http.MethodPatch, "/locations/{id}", "Change a venue (its organizers, admins)", "Catalogue", bearer, 200, 403, 404),
		func(ctx context.Context, in *locationUpdateInput) (*itemOutput[*admit.Location], error) {
			l, err := h.Geo.UpdateLocation(ctx, in.ID, in.Body)
			return written(h, ctx, l, err)
		})

	huma.Register(h.api, op("deleteLocation", http.MethodDelete, "/locations/{id}", "Delete a venue no event uses", "Catalogue", bearer, 204, 403, 404, 409),
		func(ctx context.Context, in *IDInput) (*noContent, error) {
			return deleted(h, ctx, h.Geo.DeleteLocation(ctx, in.ID))
		})
}

// answer answers a call that changes no public list (orders leave the
// catalogue alone: sold counts are never cached).
func answer[T any](h *handler, ctx context.Context, v T, err error) (*itemOutput[T], error) {
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	return &itemOutput[T]{Body: v}, nil
}

// written answers a catalogue write and clears the cached lists.
func written[T any](h *handler, ctx context.Context, v T, err error) (*itemOutput[T], error) {
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	h.changed()
	return &itemOutput[T]{Body: v}, nil
}

// created answers the creation of the resource at path (a nil out: it
// failed).
func created[T any](out *itemOutput[T], err error, path func(T) string) (*createdOutput[T], error) {
	if err != nil {
		return nil, err
	}
	return &createdOutput[T]{Location: "/api/v1" + path(out.Body), Body: out.Body}, nil
}

// deleted answers a catalogue delete.
func deleted(h *handler, ctx context.Context, err error) (*noContent, error) {
	if err != nil {
		return nil, h.fail(ctx, err)
	}
	h.changed()
	return &noContent{}, nil
}
