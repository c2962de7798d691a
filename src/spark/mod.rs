//! The Spark engine's seam (SPEC §10): a Spark Connect session
//! ([`Cluster`]), the input views a run registers on it ([`views`]), and
//! the parts it writes under the output's staging prefix ([`staging`]).
//! `commands::spark` drives them with the compiled SQL of [`crate::sql`].

pub mod cluster;
pub mod staging;
pub mod views;

pub use cluster::{Cluster, LazyCluster, SparkOptions};
