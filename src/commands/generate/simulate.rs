//! The simulation behind the generated tables: each account's segment,
//! latent health, churn and dips, and the rows of every table it produces.

use chrono::{Datelike, Months, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::buffers::*;
use super::*;

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Segment {
    Enterprise,
    MidMarket,
    Smb,
}

impl Segment {
    pub(super) fn name(self) -> &'static str {
        match self {
            Segment::Enterprise => "enterprise",
            Segment::MidMarket => "mid_market",
            Segment::Smb => "smb",
        }
    }
}

/// Dates of the run, as days since 1970-01-01.
pub(super) struct Ctx {
    pub(super) as_of: i32,
    pub(super) usage_days: i32,
    pub(super) id_width: usize,
    /// First days of the revenue months, oldest first: the 12 months up to
    /// the as-of month, then the month after it.
    pub(super) months: Vec<i32>,
}

pub(super) const MICROS_PER_DAY: i64 = 86_400_000_000;

pub(super) fn epoch_days(d: NaiveDate) -> i32 {
    crate::time::day_of(d)
}

#[inline]
pub(super) fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    rng.gen::<f64>()
}

/// A standard normal draw (Box-Muller).
pub(super) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - uniform(rng);
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Poisson draw (Knuth's method; a normal approximation for large means).
pub(super) fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> usize {
    if lambda <= 0.0 || !lambda.is_finite() {
        return 0;
    }
    if lambda > 30.0 {
        return (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as usize;
    }
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = uniform(rng);
    while p > limit {
        k += 1;
        p *= uniform(rng);
    }
    k
}

/// A time of day in µs, mostly in business hours.
pub(super) fn time_of_day(rng: &mut ChaCha8Rng) -> i64 {
    let secs: i64 = if uniform(rng) < 0.85 {
        rng.gen_range(8 * 3600..18 * 3600)
    } else {
        rng.gen_range(0..86_400)
    };
    secs * 1_000_000
}

/// The latent state of one account.
pub(super) struct Profile {
    pub(super) segment: Segment,
    /// Signup day; for generation a null signup counts as three years ago.
    pub(super) signup: i32,
    pub(super) seats: f64,
    pub(super) health: f64,
    pub(super) churn: Option<i32>,
    /// Days before churn at which the decline starts (60-120).
    pub(super) onset: f64,
    /// A temporary dip of a healthy account: (centre day, depth).
    pub(super) dip: Option<(i32, f64)>,
}

impl Profile {
    /// How far the account has slid towards churn on day `t`, 0-1.
    pub(super) fn risk(&self, t: i32) -> f64 {
        let mut r = 0.0;
        if let Some(c) = self.churn {
            let d = f64::from(c - t);
            r = ((self.onset - d) / (self.onset - 30.0)).clamp(0.0, 1.0);
        }
        if let Some((centre, depth)) = self.dip {
            let x = f64::from((t - centre).abs()) / 40.0;
            r = f64::max(r, depth * (1.0 - x).max(0.0));
        }
        r
    }

    /// Last day (exclusive) on which the account produces events.
    pub(super) fn end_excl(&self, horizon_end_excl: i32) -> i32 {
        match self.churn {
            Some(c) => c.min(horizon_end_excl),
            None => horizon_end_excl,
        }
    }
}

impl Ctx {
    pub(super) fn new(opts: &GenerateOptions) -> Result<Self> {
        let bad_date = || {
            Error::Usage(format!(
                "--as-of {} is too close to the ends of the calendar to generate data around it",
                opts.as_of
            ))
        };
        let first_of_month = opts.as_of.with_day(1).ok_or_else(bad_date)?;
        let mut months = Vec::with_capacity(13);
        for k in (0..12u32).rev() {
            let m = first_of_month
                .checked_sub_months(Months::new(k))
                .ok_or_else(bad_date)?;
            months.push(epoch_days(m));
        }
        let next = first_of_month
            .checked_add_months(Months::new(1))
            .ok_or_else(bad_date)?;
        months.push(epoch_days(next));
        // Four years before and a year after must stay representable.
        opts.as_of
            .checked_sub_days(chrono::Days::new(4 * 366))
            .and_then(|_| opts.as_of.checked_add_days(chrono::Days::new(366)))
            .ok_or_else(bad_date)?;
        let digits = opts.accounts.max(1).to_string().len();
        if opts.usage_days == 0 || opts.usage_days > 4 * 366 {
            return Err(Error::Usage(format!(
                "--usage-days {}: expected 1 to 1464 days",
                opts.usage_days
            )));
        }
        Ok(Ctx {
            as_of: epoch_days(opts.as_of),
            usage_days: opts.usage_days as i32,
            id_width: digits.max(7),
            months,
        })
    }

    /// Generates and encodes chunk `chunk` of the accounts: its own random
    /// stream, derived from (seed, chunk index).
    pub(super) fn chunk(&self, opts: &GenerateOptions, chunk: usize) -> Result<Vec<EncodedPart>> {
        let first = chunk * CHUNK_ACCOUNTS;
        let n = CHUNK_ACCOUNTS.min(opts.accounts.saturating_sub(first));
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        rng.set_stream(chunk as u64);
        let mut bufs = Buffers::new(n);
        let mut parts = Vec::new();
        for i in 0..n {
            self.account(&mut rng, (first + i + 1) as u64, &mut bufs);
            if bufs.usage.len() >= MAX_PART_ROWS {
                let full = std::mem::replace(&mut bufs.usage, UsageBuf::new(n));
                encode_part(1, full.finish()?, &mut parts)?;
            }
        }
        bufs.encode(&mut parts)?;
        Ok(parts)
    }

    /// Generates account number `num` (1-based) into `b`.
    pub(super) fn account(&self, rng: &mut ChaCha8Rng, num: u64, b: &mut Buffers) {
        let a = self.as_of;
        let mut id = String::with_capacity(16);
        let _ = write!(id, "C{num:0w$}", w = self.id_width);

        // --- accounts row -------------------------------------------------
        let s = uniform(rng);
        let segment = if s < 0.15 {
            Segment::Enterprise
        } else if s < 0.50 {
            Segment::MidMarket
        } else {
            Segment::Smb
        };
        let r = uniform(rng);
        let signup: Option<i32> = if r < 0.002 {
            None
        } else if r < 0.007 {
            Some(a + rng.gen_range(1..=30))
        } else if r < 0.037 {
            Some(a - rng.gen_range(0..90))
        } else {
            Some(a - rng.gen_range(90..1095))
        };
        let seats = match segment {
            Segment::Enterprise => {
                (rng.gen_range(150f64.ln()..5000f64.ln()).exp() / 10.0).round() * 10.0
            }
            Segment::MidMarket => rng.gen_range(20f64.ln()..250f64.ln()).exp().round(),
            Segment::Smb => rng.gen_range(0f64..30f64.ln()).exp().round().max(1.0),
        };
        let seats_null = uniform(rng) < 0.03;
        // Latent health: bell-shaped around 0.55.
        let mut health = (uniform(rng) + uniform(rng) + uniform(rng)) / 3.0 * 0.9 + 0.1;

        // Churn: ~10% of the accounts that have been customers for a while.
        let sig_eff = signup.unwrap_or(a - 1095);
        let mut churn = None;
        if uniform(rng) < 0.105 {
            let c = a + rng.gen_range(-89..=90);
            if c - sig_eff >= 120 {
                churn = Some(c);
                health *= 0.8;
            }
        }
        let onset = rng.gen_range(60.0..120.0);
        let dip = if churn.is_none() && uniform(rng) < 0.10 {
            Some((rng.gen_range(a - 120..a + 60), rng.gen_range(0.3..0.6)))
        } else {
            None
        };
        let p = Profile {
            segment,
            signup: sig_eff,
            seats,
            health,
            churn,
            onset,
            dip,
        };

        let tenure = a - sig_eff;
        let onboarding = if tenure < 90 {
            f64::from(tenure.max(0)) / 90.0 * 100.0 * (0.3 + 0.9 * health) + 8.0 * normal(rng)
        } else {
            55.0 + 45.0 * health + 12.0 * normal(rng)
        };
        let onboarding = (onboarding.clamp(0.0, 100.0) * 10.0).round() / 10.0;
        let onboarding_null = uniform(rng) < 0.05;

        b.text.clear();
        let _ = write!(
            b.text,
            "{} {} {}",
            NAME_FIRST[rng.gen_range(0..NAME_FIRST.len())],
            NAME_SECOND[rng.gen_range(0..NAME_SECOND.len())],
            NAME_SUFFIX[rng.gen_range(0..NAME_SUFFIX.len())]
        );
        b.accounts.id.append_value(&id);
        b.accounts.name.append_value(&b.text);
        b.accounts.segment.append_value(segment.name());
        b.accounts.signup.push(signup);
        b.accounts.seats.push((!seats_null).then_some(seats as i64));
        b.accounts
            .onboarding
            .push((!onboarding_null).then_some(onboarding));

        // Draw everything per table in a fixed order.
        let no_usage = uniform(rng) < 0.03;
        if !no_usage {
            self.usage(rng, &id, &p, b);
        }
        self.tickets(rng, &id, num, &p, b);
        self.surveys(rng, &id, &p, b);
        self.revenue(rng, &id, &p, b);
        if let Some(c) = p.churn {
            b.churn.id.append_value(&id);
            b.churn.on.push(c);
        }
    }

    pub(super) fn usage(&self, rng: &mut ChaCha8Rng, id: &str, p: &Profile, b: &mut Buffers) {
        let h = p.health;
        let (p_base, n_range, q_base) = match p.segment {
            Segment::Enterprise => (0.84, (3usize, 8usize), 0.20),
            Segment::MidMarket => (0.44, (2, 6), 0.13),
            Segment::Smb => (0.21, (1, 4), 0.10),
        };
        let p_day = (p_base * (0.5 + h)).min(0.97);
        let user_frac = 0.15 + 0.55 * h;
        let q = q_base * (0.5 + h);
        // Healthier accounts use a few more features.
        let n_feat =
            (rng.gen_range(n_range.0..=n_range.1) + usize::from(h > 0.7)).min(FEATURES.len());
        let mut order: [usize; 10] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
        for i in 0..n_feat {
            let j = rng.gen_range(i..FEATURES.len());
            order.swap(i, j);
        }
        let start = (self.as_of - self.usage_days + 1).max(p.signup);
        let end = p.end_excl(self.as_of + DAYS_AFTER + 1);
        for t in start..end {
            let risk = p.risk(t);
            let m = 1.0 - 0.85 * risk;
            let weekend = (t + 3).rem_euclid(7) >= 5;
            let wf = if weekend { 0.3 } else { 1.0 };
            if uniform(rng) >= p_day * wf * m {
                continue;
            }
            let users = (p.seats * user_frac * (0.4 + 0.6 * m) * rng.gen_range(0.6..1.4))
                .round()
                .max(1.0) as i32;
            let events = users + rng.gen_range(0..=users.saturating_mul(2));
            b.usage.push(id, t, "login", events, users);
            for &f in &order[..n_feat] {
                if uniform(rng) >= q * m {
                    continue;
                }
                let (ev, us) = if uniform(rng) < 0.02 {
                    // A scheduled job that ran without anyone using it.
                    (0, 0)
                } else {
                    let fu = (f64::from(users) * rng.gen_range(0.05..0.6))
                        .round()
                        .max(1.0) as i32;
                    (fu.saturating_mul(rng.gen_range(1..=6)), fu)
                };
                b.usage.push(id, t, FEATURES[f], ev, us);
            }
        }
    }

    pub(super) fn tickets(
        &self,
        rng: &mut ChaCha8Rng,
        id: &str,
        num: u64,
        p: &Profile,
        b: &mut Buffers,
    ) {
        let base = match p.segment {
            Segment::Enterprise => 5.0,
            Segment::MidMarket => 2.2,
            Segment::Smb => 1.35,
        } * (1.5 - p.health);
        let start = (self.as_of - EVENT_DAYS + 1).max(p.signup);
        let end = p.end_excl(self.as_of + DAYS_AFTER + 1);
        let scratch = &mut b.ticket_scratch;
        scratch.clear();
        if end > start {
            let n = poisson(rng, base * f64::from(end - start) / 365.0);
            for _ in 0..n {
                let t = rng.gen_range(start..end);
                let mut prio = {
                    let x = uniform(rng);
                    if x < 0.30 {
                        0
                    } else if x < 0.77 {
                        1
                    } else if x < 0.94 {
                        2
                    } else {
                        3
                    }
                };
                let risk = p.risk(t);
                if prio < 2 && uniform(rng) < 0.5 * risk {
                    prio = if uniform(rng) < 0.5 { 2 } else { 3 };
                }
                scratch.push((i64::from(t) * MICROS_PER_DAY + time_of_day(rng), prio));
            }
        }
        // Churners file more and more urgent tickets as churn nears.
        if let Some(c) = p.churn {
            let extra = poisson(rng, 2.0);
            for _ in 0..extra {
                let d = (p.onset * (1.0 - uniform(rng).sqrt())).round() as i32 + 1;
                let t = c - d;
                let x = uniform(rng);
                let prio = if x < 0.10 {
                    0
                } else if x < 0.30 {
                    1
                } else if x < 0.65 {
                    2
                } else {
                    3
                };
                if t >= start && t < end {
                    scratch.push((i64::from(t) * MICROS_PER_DAY + time_of_day(rng), prio));
                }
            }
        }
        scratch.sort_unstable();
        let horizon = i64::from(self.as_of + DAYS_AFTER + 1) * MICROS_PER_DAY;
        for (k, &(opened, prio)) in scratch.iter().enumerate() {
            let hours = match prio {
                3 => rng.gen_range(0.5..24.0),
                2 => rng.gen_range(1.0..72.0),
                1 => rng.gen_range(2.0..168.0),
                _ => rng.gen_range(4.0..336.0),
            };
            let closed = opened + (f64::round(hours * 3600.0) as i64) * 1_000_000;
            let recent = horizon - opened < 7 * MICROS_PER_DAY;
            let open = uniform(rng) < if recent { 0.5 } else { 0.03 };
            b.text.clear();
            let _ = write!(b.text, "T{num:0w$}-{k:03}", w = self.id_width);
            b.tickets.ticket_id.append_value(&b.text);
            b.tickets.id.append_value(id);
            b.tickets.opened.push(opened);
            b.tickets.closed.push((!open).then_some(closed));
            b.tickets.priority.append_value(PRIORITIES[prio]);
        }
    }

    pub(super) fn surveys(&self, rng: &mut ChaCha8Rng, id: &str, p: &Profile, b: &mut Buffers) {
        let start = (self.as_of - EVENT_DAYS + 1).max(p.signup);
        let end = p.end_excl(self.as_of + DAYS_AFTER + 1);
        let scratch = &mut b.survey_scratch;
        scratch.clear();
        if end > start {
            let n = poisson(rng, 1.68 * f64::from(end - start) / 365.0);
            for _ in 0..n {
                let t = rng.gen_range(start..end);
                let nps = uniform(rng) < 0.6;
                scratch.push((
                    i64::from(t) * MICROS_PER_DAY + time_of_day(rng),
                    nps,
                    p.risk(t),
                ));
            }
        }
        // Churners are asked (and answer badly) more often before leaving.
        if let Some(c) = p.churn {
            let extra = poisson(rng, 0.7);
            for _ in 0..extra {
                let t = c - rng.gen_range(15..p.onset.max(16.0) as i32);
                let nps = uniform(rng) < 0.6;
                if t >= start && t < end {
                    scratch.push((
                        i64::from(t) * MICROS_PER_DAY + time_of_day(rng),
                        nps,
                        p.risk(t),
                    ));
                }
            }
        }
        scratch.sort_unstable_by(|x, y| x.0.cmp(&y.0).then(x.1.cmp(&y.1)));
        for &(at, nps, risk) in scratch.iter() {
            let h = p.health * (1.0 - 0.7 * risk);
            let (kind, score) = if nps {
                (
                    "nps",
                    (3.0 + 7.0 * h + 1.5 * normal(rng)).round().clamp(0.0, 10.0),
                )
            } else {
                (
                    "csat",
                    (1.5 + 3.5 * h + 0.7 * normal(rng)).round().clamp(1.0, 5.0),
                )
            };
            b.surveys.id.append_value(id);
            b.surveys.at.push(at);
            b.surveys.kind.append_value(kind);
            b.surveys.score.push(score as i64);
        }
    }

    pub(super) fn revenue(&self, rng: &mut ChaCha8Rng, id: &str, p: &Profile, b: &mut Buffers) {
        let prices: &[f64] = match p.segment {
            Segment::Enterprise => &[45.0, 50.0, 55.0, 60.0],
            Segment::MidMarket => &[30.0, 35.0, 40.0],
            Segment::Smb => &[20.0, 25.0, 29.0],
        };
        let price = prices[rng.gen_range(0..prices.len())];
        let free = p.segment == Segment::Smb && uniform(rng) < 0.03;
        let mut seats = p.seats;
        // Healthy accounts sometimes expand; some others shrink a little.
        let change_at = rng.gen_range(0..self.months.len());
        let change = if p.health > 0.6 && uniform(rng) < 0.25 {
            rng.gen_range(1.1..1.3)
        } else if uniform(rng) < 0.05 {
            0.9
        } else {
            1.0
        };
        // Billing starts with the signup month.
        let signup_month = Some(crate::time::date_of(p.signup))
            .and_then(|d| d.with_day(1))
            .map_or(i32::MIN, epoch_days);
        for (k, &month) in self.months.iter().enumerate() {
            if month < signup_month {
                continue;
            }
            if p.churn.is_some_and(|c| month >= c) {
                break;
            }
            if k == change_at {
                seats = (seats * change).round().max(1.0);
            }
            let risk = p.risk(month + 14);
            let mrr = if free {
                0.0
            } else {
                let base = seats * price;
                if risk > 0.0 {
                    // Downgrades in steps of 5% so values still tie.
                    base * (1.0 - (risk * 9.0).round() * 0.05)
                } else {
                    base
                }
            };
            let mrr = (mrr * 100.0).round() / 100.0;
            let dpd = if risk > 0.0 && uniform(rng) < 0.2 + 0.8 * risk {
                (risk * rng.gen_range(10.0..90.0)).round() as i32
            } else {
                let x = uniform(rng);
                if x < 0.88 {
                    0
                } else if x < 0.97 {
                    rng.gen_range(1..15)
                } else if x < 0.995 {
                    rng.gen_range(15..46)
                } else {
                    rng.gen_range(46..91)
                }
            };
            b.revenue.id.append_value(id);
            b.revenue.month.push(month);
            b.revenue.mrr.push(mrr);
            b.revenue.dpd.push(dpd);
            // A correction row for the same month: same or slightly lower mrr.
            if uniform(rng) < 0.003 {
                let again = if uniform(rng) < 0.5 {
                    mrr
                } else {
                    (mrr * 95.0).round() / 100.0
                };
                b.revenue.id.append_value(id);
                b.revenue.month.push(month);
                b.revenue.mrr.push(again);
                b.revenue.dpd.push(dpd);
            }
        }
    }
}
