CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE audit_event (
	id INTEGER NOT NULL, 
	occurred_at DATETIME NOT NULL, 
	user_id INTEGER, 
	user_email VARCHAR(254), 
	ip VARCHAR(64), 
	la_code VARCHAR(9), 
	action VARCHAR(64) NOT NULL, 
	target_type VARCHAR(32), 
	target_id VARCHAR(64), 
	detail TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE background_job (
	id VARCHAR(32) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	la_code VARCHAR(9) NOT NULL, 
	scenario_id INTEGER, 
	created_by INTEGER NOT NULL, 
	runner VARCHAR(128) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	progress FLOAT NOT NULL, 
	message TEXT NOT NULL, 
	params TEXT NOT NULL, 
	result TEXT, 
	error TEXT, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	finished_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE TABLE boundary_change (
	predecessor_code VARCHAR(9) NOT NULL, 
	successor_code VARCHAR(9) NOT NULL, 
	first_year INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	note TEXT NOT NULL, 
	PRIMARY KEY (predecessor_code, successor_code)
);
CREATE TABLE data_load (
	dataset VARCHAR(120) NOT NULL, 
	source_file TEXT NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	rows INTEGER NOT NULL, 
	loaded_at DATETIME NOT NULL, 
	PRIMARY KEY (dataset)
);
CREATE TABLE local_authority (
	la_code VARCHAR(9) NOT NULL, 
	old_la_code VARCHAR(3), 
	la_name TEXT NOT NULL, 
	region_code VARCHAR(9), 
	region_name TEXT, 
	first_year INTEGER, 
	last_year INTEGER, 
	PRIMARY KEY (la_code)
);
CREATE TABLE login_attempt (
	id INTEGER NOT NULL, 
	ip VARCHAR(64) NOT NULL, 
	email VARCHAR(254) NOT NULL, 
	attempted_at DATETIME NOT NULL, 
	succeeded BOOLEAN NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE "observation" (
	series_id INTEGER NOT NULL, 
	area_code VARCHAR(9) NOT NULL, 
	year INTEGER NOT NULL, 
	time_period VARCHAR(16) NOT NULL, 
	value FLOAT, 
	status VARCHAR(8), 
	CONSTRAINT pk_observation PRIMARY KEY (series_id, area_code, year)
)
 WITHOUT ROWID

;
CREATE TABLE observation_series (
	id INTEGER NOT NULL, 
	dataset VARCHAR(120) NOT NULL, 
	indicator VARCHAR(120) NOT NULL, 
	geographic_level VARCHAR(32) NOT NULL, 
	breakdown TEXT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE saved_scenario (
	id INTEGER NOT NULL, 
	la_code VARCHAR(9) NOT NULL, 
	name TEXT NOT NULL, 
	model VARCHAR(64) NOT NULL, 
	method VARCHAR(32) NOT NULL, 
	horizon_years INTEGER NOT NULL, 
	n_draws INTEGER NOT NULL, 
	seed INTEGER NOT NULL, 
	overrides TEXT NOT NULL, 
	published BOOLEAN NOT NULL, 
	created_by INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE ssda903_load (
	load_id VARCHAR(32) NOT NULL, 
	la_code VARCHAR(9) NOT NULL, 
	loaded_at DATETIME NOT NULL, 
	collection_years TEXT NOT NULL, 
	source_files TEXT NOT NULL, 
	children INTEGER NOT NULL, 
	episodes INTEGER NOT NULL, 
	data_end DATE NOT NULL, 
	key_check VARCHAR(64) NOT NULL, 
	PRIMARY KEY (load_id)
);
CREATE TABLE ssda903_table (
	load_id VARCHAR(32) NOT NULL, 
	name VARCHAR(16) NOT NULL, 
	parquet BLOB NOT NULL, 
	PRIMARY KEY (load_id, name), 
	FOREIGN KEY(load_id) REFERENCES ssda903_load (load_id) ON DELETE CASCADE
);
CREATE TABLE statistical_neighbour (
	model VARCHAR(32) NOT NULL, 
	la_code VARCHAR(9) NOT NULL, 
	rank INTEGER NOT NULL, 
	neighbour_code VARCHAR(9) NOT NULL, 
	PRIMARY KEY (model, la_code, rank)
);
CREATE TABLE track_actual (
	import_id VARCHAR(36) NOT NULL, 
	row_number INTEGER NOT NULL, 
	la_code VARCHAR(9) NOT NULL, 
	period VARCHAR(12) NOT NULL, 
	granularity VARCHAR(8) NOT NULL, 
	period_start DATE NOT NULL, 
	period_end DATE NOT NULL, 
	measure VARCHAR(16) NOT NULL, 
	placement VARCHAR(32) NOT NULL, 
	count FLOAT, 
	spend_gbp FLOAT, 
	PRIMARY KEY (import_id, row_number), 
	FOREIGN KEY(import_id) REFERENCES track_actuals_import (import_id)
);
CREATE TABLE track_actuals_import (
	import_id VARCHAR(36) NOT NULL, 
	la_code VARCHAR(9) NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	version INTEGER NOT NULL, 
	source_file TEXT NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	rows INTEGER NOT NULL, 
	note TEXT NOT NULL, 
	imported_at DATETIME NOT NULL, 
	PRIMARY KEY (import_id), 
	CONSTRAINT uq_track_actuals_version UNIQUE (la_code, source, version)
);
CREATE TABLE track_baseline_unit_cost (
	implementation_id VARCHAR(36) NOT NULL, 
	revision INTEGER NOT NULL, 
	placement VARCHAR(32) NOT NULL, 
	annual_cost_gbp FLOAT NOT NULL, 
	price_base_year VARCHAR(7) NOT NULL, 
	source TEXT NOT NULL, 
	PRIMARY KEY (implementation_id, revision, placement), 
	FOREIGN KEY(implementation_id, revision) REFERENCES track_baseline_version (implementation_id, revision)
);
CREATE TABLE track_baseline_value (
	implementation_id VARCHAR(36) NOT NULL, 
	revision INTEGER NOT NULL, 
	series VARCHAR(16) NOT NULL, 
	year INTEGER NOT NULL, 
	measure VARCHAR(48) NOT NULL, 
	placement VARCHAR(32) NOT NULL, 
	p10 FLOAT, 
	p50 FLOAT, 
	p90 FLOAT, 
	PRIMARY KEY (implementation_id, revision, series, year, measure, placement), 
	FOREIGN KEY(implementation_id, revision) REFERENCES track_baseline_version (implementation_id, revision)
);
CREATE TABLE track_baseline_version (
	implementation_id VARCHAR(36) NOT NULL, 
	revision INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	data_vintage TEXT NOT NULL, 
	assumptions_version TEXT NOT NULL, 
	method TEXT NOT NULL, 
	seed INTEGER, 
	price_base_year VARCHAR(7) NOT NULL, 
	reason TEXT NOT NULL, 
	content_sha256 VARCHAR(64) NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	PRIMARY KEY (implementation_id, revision), 
	FOREIGN KEY(implementation_id) REFERENCES track_implementation (implementation_id)
);
CREATE TABLE track_implementation (
	implementation_id VARCHAR(36) NOT NULL, 
	la_code VARCHAR(9) NOT NULL, 
	la_name TEXT NOT NULL, 
	model VARCHAR(32) NOT NULL, 
	go_live_date DATE NOT NULL, 
	date_precision VARCHAR(16) NOT NULL, 
	go_live_earliest DATE, 
	go_live_latest DATE, 
	go_live_basis TEXT NOT NULL, 
	scenario_name TEXT NOT NULL, 
	recorded_at DATETIME NOT NULL, 
	PRIMARY KEY (implementation_id), 
	CONSTRAINT uq_track_implementation_la_model UNIQUE (la_code, model)
);
CREATE TABLE web_session (
	id VARCHAR(64) NOT NULL, 
	user_id INTEGER NOT NULL, 
	csrf_token VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES web_user (id) ON DELETE CASCADE
);
CREATE TABLE web_user (
	id INTEGER NOT NULL, 
	email VARCHAR(254) NOT NULL, 
	full_name TEXT NOT NULL, 
	password_hash TEXT NOT NULL, 
	role VARCHAR(32) NOT NULL, 
	la_code VARCHAR(9), 
	active BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (email)
);
CREATE INDEX ix_audit_event_la_code ON audit_event (la_code);
CREATE INDEX ix_background_job_la_code ON background_job (la_code);
CREATE INDEX ix_background_job_scenario_id ON background_job (scenario_id);
CREATE INDEX ix_login_attempt_ip_email_at ON login_attempt (ip, email, attempted_at);
CREATE INDEX ix_observation_series_dataset ON observation_series (dataset);
CREATE INDEX ix_saved_scenario_la_code ON saved_scenario (la_code);
CREATE INDEX ix_ssda903_load_la_code ON ssda903_load (la_code);
CREATE INDEX ix_track_actual_la_code ON track_actual (la_code);
CREATE INDEX ix_track_actuals_import_la_code ON track_actuals_import (la_code);
CREATE INDEX ix_track_implementation_la_code ON track_implementation (la_code);
CREATE UNIQUE INDEX uq_observation_series ON observation_series (indicator, dataset, geographic_level, breakdown);
CREATE TRIGGER track_actual_no_delete BEFORE DELETE ON track_actual BEGIN SELECT RAISE(ABORT, 'sf-benefits: DELETE on track_actual refused: locked baselines and imported actuals are immutable'); END;
CREATE TRIGGER track_actual_no_update BEFORE UPDATE ON track_actual BEGIN SELECT RAISE(ABORT, 'sf-benefits: UPDATE on track_actual refused: locked baselines and imported actuals are immutable'); END;
CREATE TRIGGER track_actuals_import_no_delete BEFORE DELETE ON track_actuals_import BEGIN SELECT RAISE(ABORT, 'sf-benefits: DELETE on track_actuals_import refused: locked baselines and imported actuals are immutable'); END;
CREATE TRIGGER track_actuals_import_no_update BEFORE UPDATE ON track_actuals_import BEGIN SELECT RAISE(ABORT, 'sf-benefits: UPDATE on track_actuals_import refused: locked baselines and imported actuals are immutable'); END;
CREATE TRIGGER track_baseline_unit_cost_no_delete BEFORE DELETE ON track_baseline_unit_cost BEGIN SELECT RAISE(ABORT, 'sf-benefits: DELETE on track_baseline_unit_cost refused: locked baselines and imported actuals are immutable'); END;
CREATE TRIGGER track_baseline_unit_cost_no_update BEFORE UPDATE ON track_baseline_unit_cost BEGIN SELECT RAISE(ABORT, 'sf-benefits: UPDATE on track_baseline_unit_cost refused: locked baselines and imported actuals are immutable'); END;
CREATE TRIGGER track_baseline_value_no_delete BEFORE DELETE ON track_baseline_value BEGIN SELECT RAISE(ABORT, 'sf-benefits: DELETE on track_baseline_value refused: locked baselines and imported actuals are immutable'); END;
CREATE TRIGGER track_baseline_value_no_update BEFORE UPDATE ON track_baseline_value BEGIN SELECT RAISE(ABORT, 'sf-benefits: UPDATE on track_baseline_value refused: locked baselines and imported actuals are immutable'); END;
CREATE TRIGGER track_baseline_version_no_delete BEFORE DELETE ON track_baseline_version BEGIN SELECT RAISE(ABORT, 'sf-benefits: DELETE on track_baseline_version refused: locked baselines and imported actuals are immutable'); END;
CREATE TRIGGER track_baseline_version_no_update BEFORE UPDATE ON track_baseline_version BEGIN SELECT RAISE(ABORT, 'sf-benefits: UPDATE on track_baseline_version refused: locked baselines and imported actuals are immutable'); END;
INSERT INTO alembic_version (version_num) VALUES ('0002_track');
INSERT INTO alembic_version (version_num) VALUES ('0004_web');
INSERT INTO alembic_version (version_num) VALUES ('0005_ssda903_parquet');
INSERT INTO alembic_version (version_num) VALUES ('0007_observation_clustered');
