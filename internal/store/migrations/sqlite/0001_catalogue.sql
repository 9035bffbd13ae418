-- Times are BIGINT microseconds since the Unix epoch on both engines.
CREATE TABLE countries (
	code TEXT PRIMARY KEY,
	name TEXT NOT NULL
);

CREATE TABLE cities (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	country    TEXT NOT NULL REFERENCES countries (code),
	time_zone  TEXT NOT NULL,
	latitude   REAL,
	longitude  REAL,
	created_at BIGINT NOT NULL,
	UNIQUE (country, name)
);
CREATE INDEX cities_name ON cities (name, id);

CREATE TABLE organizations (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	role          TEXT NOT NULL CHECK (role IN ('attendee', 'organizer', 'admin')),
	password_hash TEXT NOT NULL,
	created_at    BIGINT NOT NULL
);

CREATE TABLE organization_members (
	organization_id TEXT NOT NULL REFERENCES organizations (id),
	user_id         TEXT NOT NULL REFERENCES users (id),
	PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_user ON organization_members (user_id);

CREATE TABLE api_tokens (
	token_hash TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id),
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE locations (
	id              TEXT PRIMARY KEY,
	city_id         TEXT NOT NULL REFERENCES cities (id),
	organization_id TEXT REFERENCES organizations (id),
	name            TEXT NOT NULL,
	address         TEXT NOT NULL,
	capacity        BIGINT NOT NULL,
	latitude        REAL,
	longitude       REAL,
	created_at      BIGINT NOT NULL
);
CREATE INDEX locations_city ON locations (city_id, name, id);

-- seq is SQLite's stable rowid, which the full-text table points at.
CREATE TABLE events (
	seq             INTEGER PRIMARY KEY,
	id              TEXT NOT NULL UNIQUE,
	organization_id TEXT NOT NULL REFERENCES organizations (id),
	title           TEXT NOT NULL,
	description     TEXT NOT NULL,
	category        TEXT NOT NULL,
	category_key    TEXT NOT NULL,
	tags            TEXT NOT NULL,
	city_id         TEXT NOT NULL REFERENCES cities (id),
	country         TEXT NOT NULL,
	location_id     TEXT NOT NULL REFERENCES locations (id),
	starts_at       BIGINT NOT NULL,
	ends_at         BIGINT NOT NULL,
	start_date      TEXT NOT NULL,
	time_zone       TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('draft', 'published', 'cancelled')),
	stream_url      TEXT NOT NULL,
	popularity      BIGINT NOT NULL DEFAULT 0,
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL
);
CREATE INDEX events_status_start ON events (status, starts_at, id);
CREATE INDEX events_city ON events (city_id, status, starts_at, id);
CREATE INDEX events_location ON events (location_id, status, starts_at, id);
CREATE INDEX events_country ON events (country, status, starts_at, id);
CREATE INDEX events_category ON events (category_key, status, starts_at, id);
CREATE INDEX events_popularity ON events (status, popularity, id);
CREATE INDEX events_organization ON events (organization_id, starts_at, id);

CREATE VIRTUAL TABLE event_search USING fts5 (body, tokenize = 'unicode61 remove_diacritics 2');

CREATE TABLE ticket_types (
	id             TEXT PRIMARY KEY,
	event_id       TEXT NOT NULL REFERENCES events (id),
	name           TEXT NOT NULL,
	kind           TEXT NOT NULL,
	price_amount   BIGINT NOT NULL CHECK (price_amount >= 0),
	currency       TEXT NOT NULL,
	quantity       BIGINT NOT NULL CHECK (quantity >= 0),
	sold           BIGINT NOT NULL DEFAULT 0 CHECK (sold >= 0),
	sale_starts_at BIGINT NOT NULL,
	sale_ends_at   BIGINT NOT NULL,
	min_per_order  BIGINT NOT NULL,
	max_per_order  BIGINT NOT NULL,
	created_at     BIGINT NOT NULL
);
CREATE INDEX ticket_types_event ON ticket_types (event_id, currency, price_amount);
