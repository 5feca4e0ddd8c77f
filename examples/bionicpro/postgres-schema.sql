-- BionicPRO source data in PostgreSQL: the seed's CRM and telemetry databases, here as two schemas
-- of one database (a mart reads one source connection).
CREATE SCHEMA IF NOT EXISTS crm;
CREATE SCHEMA IF NOT EXISTS telemetry;

CREATE TABLE crm.users (
  user_id     integer PRIMARY KEY,
  full_name   text NOT NULL,
  email       text NOT NULL UNIQUE,
  region      text NOT NULL,
  created_at  timestamp NOT NULL
);

CREATE TABLE crm.prosthetics (
  prosthetic_id  integer PRIMARY KEY,
  user_id        integer NOT NULL REFERENCES crm.users,
  model          text NOT NULL,
  serial_number  text NOT NULL UNIQUE,
  installed_at   date NOT NULL
);

CREATE TABLE crm.subscriptions (
  subscription_id  integer PRIMARY KEY,
  user_id          integer NOT NULL REFERENCES crm.users,
  plan             text NOT NULL,
  monthly_cost     numeric(10, 2) NOT NULL,
  started_at       date NOT NULL,
  ended_at         date,             -- NULL: still active
  status           text NOT NULL     -- active, cancelled, ended
);

CREATE TABLE crm.payments (
  payment_id  bigint PRIMARY KEY,
  user_id     integer NOT NULL REFERENCES crm.users,
  amount      numeric(10, 2) NOT NULL,
  paid_at     timestamp NOT NULL,
  status      text NOT NULL          -- success, failed
);

CREATE TABLE crm.support_tickets (
  ticket_id      bigint PRIMARY KEY,
  user_id        integer NOT NULL REFERENCES crm.users,
  prosthetic_id  integer REFERENCES crm.prosthetics,
  opened_at      timestamp NOT NULL,
  closed_at      timestamp,
  severity       text NOT NULL       -- low, medium, high
);

CREATE TABLE telemetry.events (
  event_id          bigint PRIMARY KEY,
  prosthetic_id     integer NOT NULL,
  user_id           integer NOT NULL,
  event_time        timestamp NOT NULL,
  event_type        text NOT NULL,   -- power_on, power_off, charge_start, charge_end, error, critical_error
  duration_seconds  integer NOT NULL DEFAULT 0  -- power_off: the session just ended; critical_error: downtime
);
CREATE INDEX events_time ON telemetry.events (event_time);

CREATE TABLE telemetry.battery_metrics (
  metric_id          bigint PRIMARY KEY,
  prosthetic_id      integer NOT NULL,
  user_id            integer NOT NULL,
  measured_at        timestamp NOT NULL,
  level_pct          numeric(5, 2) NOT NULL,
  is_charging        boolean NOT NULL,
  discharge_rate_mah numeric(8, 2),  -- while not charging
  charge_rate_mah    numeric(8, 2)   -- while charging
);
CREATE INDEX battery_time ON telemetry.battery_metrics (measured_at);
