//! The integration tests: one binary (one link of polars instead of one
//! per file), a module per area, the shared helpers beside them.

mod bad_fixture;
mod common;
mod fixture;
mod hooked_store;
mod servers;

mod aggregations;
mod backfill;
mod backtest;
mod bad_input;
mod bad_input_props;
mod changes;
mod command_line;
mod default_pipeline;
mod deploy;
mod explain;
mod hostile;
mod large_output;
mod lease;
mod metrics_file;
mod object_store_azure;
mod object_store_s3;
mod overrides;
mod pipeline_errors;
mod prune;
mod recency;
mod remote_inputs;
mod report;
mod sample_pipelines;
mod scoring_additions;
mod scoring_rules;
mod spark;
mod sql;
mod storage_failures;
mod terminal;
mod trend_and_commit;
