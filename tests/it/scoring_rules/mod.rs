//! Scoring rules of SPEC §4: normalisation, missing policies, groups,
//! scorecards, rounding, bands, completeness, drivers and playbooks. The
//! metric values come from account columns (`[accounts] extra_columns`),
//! so every raw value is chosen by the test and every expectation below is
//! worked out by hand from the SPEC formulas.

use crate::common;
use crate::fixture;
use common::*;
use fixture::*;

/// An smb account with the extra float columns given.
fn with(id: &'static str, xs: &[(&'static str, Option<f64>)]) -> Account {
    let mut a = acc(id);
    for (k, v) in xs {
        a = a.x(k, *v);
    }
    a
}

fn data(accounts: Vec<Account>) -> Data {
    Data {
        accounts,
        ..Default::default()
    }
}

mod completeness_and_drivers;
mod missing;
mod normalisation;
mod rounding_and_bands;
mod scorecards;
