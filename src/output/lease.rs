//! SPEC §6 the output's lease (`_LOCK` at the output root: run id, host,
//! expiry; created only if absent, an expired one taken over) and the
//! SIGTERM/SIGINT handling that releases it: outside the write phase at
//! once, inside it after the writer stops at the next object.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};

use super::{LEASE_MINUTES, LOCK};
use crate::error::{escaped, Error, Result};
use crate::storage::Store;

/// The lease's JSON body.
#[derive(serde::Serialize, serde::Deserialize)]
struct LeaseBody {
    run_id: String,
    host: String,
    expires: DateTime<Utc>,
}

/// The output's lease, held for the duration of a run.
pub struct Lease {
    out: Store,
    run_id: String,
}

/// The lease this process holds, for the signal handler to release.
static HELD: Mutex<Option<(Store, String)>> = Mutex::new(None);

/// Whether the commit is writing objects (a signal then stops it at the
/// next object instead of exiting at once).
pub(super) static WRITING: AtomicBool = AtomicBool::new(false);

/// Whether SIGTERM/SIGINT arrived.
pub(super) static INTERRUPTED: AtomicBool = AtomicBool::new(false);

impl Lease {
    /// Takes the lease, or fails with `Locked` while another run holds an
    /// unexpired one; an expired lease is taken over.
    pub fn acquire(out: &Store, run_id: &str) -> Result<Lease> {
        let body = LeaseBody {
            run_id: run_id.to_string(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            expires: Utc::now() + Duration::minutes(LEASE_MINUTES),
        };
        let bytes = Bytes::from(serde_json::to_vec_pretty(&body).expect("lease json"));
        for _ in 0..3 {
            if out.put_if_absent(LOCK, bytes.clone())? {
                *HELD.lock().expect("lease registry") = Some((out.clone(), run_id.to_string()));
                return Ok(Lease {
                    out: out.clone(),
                    run_id: run_id.to_string(),
                });
            }
            let Some(existing) = out.get_opt(LOCK)? else {
                continue;
            };
            match serde_json::from_slice::<LeaseBody>(&existing) {
                Ok(held) if held.expires > Utc::now() && held.run_id != run_id => {
                    return Err(Error::Locked {
                        url: out.url().to_string(),
                        holder: escaped(&held.run_id),
                        host: escaped(&held.host),
                        expires: held.expires.to_rfc3339(),
                    });
                }
                // Expired, ours, or unreadable: take it over, and say so.
                held => {
                    let why = match held {
                        Ok(h) if h.run_id == run_id => {
                            format!("held by this run id ({}), rerun", escaped(&h.run_id))
                        }
                        Ok(h) => format!(
                            "run {} on {} expired at {}",
                            escaped(&h.run_id),
                            escaped(&h.host),
                            h.expires.to_rfc3339()
                        ),
                        Err(e) => format!("unreadable ({e})"),
                    };
                    tracing::warn!(lease = %out.url_of(LOCK), "taking over the lease: {why}");
                    out.delete(LOCK)?
                }
            }
        }
        Err(Error::Storage {
            operation: "lease".into(),
            url: out.url_of(LOCK),
            message: "could not take the lease after 3 attempts: `_LOCK` exists but could not be read as a lease each time (another run racing for it, or not a file: a folder named _LOCK must be removed by hand)"
                .into(),
        })
    }

    /// Extends the lease by another [`LEASE_MINUTES`] from now, so a long
    /// backfill keeps it; fails with `Locked` if another run took it over.
    pub fn renew(&self) -> Result<()> {
        if let Some(existing) = self.out.get_opt(LOCK)? {
            if let Ok(held) = serde_json::from_slice::<LeaseBody>(&existing) {
                if held.run_id != self.run_id {
                    return Err(Error::Locked {
                        url: self.out.url().to_string(),
                        holder: escaped(&held.run_id),
                        host: escaped(&held.host),
                        expires: held.expires.to_rfc3339(),
                    });
                }
            }
        }
        let body = LeaseBody {
            run_id: self.run_id.clone(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            expires: Utc::now() + Duration::minutes(LEASE_MINUTES),
        };
        self.out.put(
            LOCK,
            Bytes::from(serde_json::to_vec_pretty(&body).expect("lease json")),
        )
    }

    /// Releases the lease if it is still ours.
    pub fn release(self) -> Result<()> {
        *HELD.lock().expect("lease registry") = None;
        release_if_ours(&self.out, &self.run_id)
    }
}

/// Deletes the lease if `run_id` holds it.
fn release_if_ours(out: &Store, run_id: &str) -> Result<()> {
    if let Some(existing) = out.get_opt(LOCK)? {
        if let Ok(held) = serde_json::from_slice::<LeaseBody>(&existing) {
            if held.run_id == run_id {
                out.delete(LOCK)?;
            }
        }
    }
    Ok(())
}

/// Installs the SIGTERM/SIGINT handler: outside the write phase it releases
/// the lease and exits 1 at once; inside it the writer stops at the next
/// object, releases the lease and returns `Interrupted`.
pub fn install_signal_handler() {
    crate::storage::runtime().spawn(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        INTERRUPTED.store(true, Ordering::SeqCst);
        if !WRITING.load(Ordering::SeqCst) {
            let held = HELD.lock().ok().and_then(|h| h.clone());
            if let Some((out, run_id)) = held {
                let _ = tokio::task::spawn_blocking(move || release_if_ours(&out, &run_id)).await;
            }
            eprintln!("healthscore: interrupted by signal; the lease was released and nothing was committed");
            std::process::exit(1);
        }
    });
}

/// `Interrupted` once a signal arrived.
pub fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}
