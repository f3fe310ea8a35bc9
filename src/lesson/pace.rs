//! How fast this machine runs, for the time bounds in lessons.
//!
//! `PODLAB_SLOWDOWN=FACTOR` says the machine is FACTOR times slower than a real one: an
//! emulated VM (scripts/v2-vm sets it for its guest). Then every wall-clock bound of a lesson
//! (a step's timeout, an exec in a check, the longest a delete may take) is FACTOR times
//! longer, and CPU-time bounds (`max_cpu_seconds`) are not checked at all: under emulation a
//! process's CPU time says nothing about the program. The runner reads the setting here, once,
//! and says so in what it prints.

use std::sync::OnceLock;
use std::time::Duration;

use crate::i18n::Text;

pub const SLOWDOWN_VAR: &str = "PODLAB_SLOWDOWN";

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    slowdown: f64,
}

impl Pace {
    /// A machine running at its own speed.
    pub const REAL: Pace = Pace { slowdown: 1.0 };

    /// From `PODLAB_SLOWDOWN`, read once per process. A value that is not a factor of 1 or
    /// more is reported on stderr once and ignored.
    pub fn of_machine() -> Pace {
        static PACE: OnceLock<Pace> = OnceLock::new();
        *PACE.get_or_init(|| {
            let value = std::env::var(SLOWDOWN_VAR).ok();
            Pace::parse(value.as_deref()).unwrap_or_else(|e| {
                eprintln!("podlab: ignoring {SLOWDOWN_VAR}: {e}");
                Pace::REAL
            })
        })
    }

    pub fn parse(value: Option<&str>) -> Result<Pace, String> {
        let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(Pace::REAL);
        };
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() && (1.0..=1000.0).contains(&f) => Ok(Pace { slowdown: f }),
            _ => Err(format!(
                "{text:?} is not a slowdown factor between 1 and 1000"
            )),
        }
    }

    pub fn is_slowed(self) -> bool {
        self.slowdown > 1.0
    }

    /// A wall-clock bound on this machine.
    pub fn wall(self, bound: Duration) -> Duration {
        bound.mul_f64(self.slowdown)
    }

    pub fn wall_seconds(self, bound: f64) -> f64 {
        bound * self.slowdown
    }

    /// Whether CPU-time bounds are checked here (not on a slowed, emulated machine).
    pub fn checks_cpu_time(self) -> bool {
        !self.is_slowed()
    }

    /// What a run prints first on a slowed machine.
    pub fn notice(self) -> Option<Text> {
        self.is_slowed().then(|| {
            let f = self.slowdown;
            Text::new(
                format!(
                    "{SLOWDOWN_VAR}={f}: this machine is emulated, about {f}× slower. Time \
                     bounds are {f}× longer and CPU-time bounds are not checked."
                ),
                format!(
                    "{SLOWDOWN_VAR}={f}：这台机器是模拟的，大约慢 {f} 倍。时间上限放宽到 {f} \
                     倍，CPU 时间上限不检查。"
                ),
            )
        })
    }

    /// Why a CPU-time bound was not checked, for the check's result.
    pub fn cpu_bound_skipped(self, bound_seconds: f64) -> Text {
        Text::new(
            format!(
                "bound {bound_seconds}s not checked: {SLOWDOWN_VAR}={} (emulated)",
                self.slowdown
            ),
            format!(
                "上限 {bound_seconds} 秒未检查：{SLOWDOWN_VAR}={}（模拟的机器）",
                self.slowdown
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_factors_and_rejects_the_rest() {
        assert_eq!(Pace::parse(None), Ok(Pace::REAL));
        assert_eq!(Pace::parse(Some(" ")), Ok(Pace::REAL));
        assert_eq!(Pace::parse(Some("10")), Ok(Pace { slowdown: 10.0 }));
        assert_eq!(Pace::parse(Some("1")), Ok(Pace::REAL));
        for bad in ["0.5", "0", "-3", "fast", "NaN", "inf", "1e9"] {
            assert!(Pace::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_slowed_machine_scales_wall_time_and_skips_cpu_time() {
        let pace = Pace::parse(Some("10")).unwrap_or(Pace::REAL);
        assert!(pace.is_slowed());
        assert_eq!(pace.wall(Duration::from_secs(5)), Duration::from_secs(50));
        assert!((pace.wall_seconds(0.5) - 5.0).abs() < 1e-9);
        assert!(!pace.checks_cpu_time());
        assert!(pace.notice().is_some());
        assert!(Pace::REAL.checks_cpu_time());
        assert_eq!(
            Pace::REAL.wall(Duration::from_secs(5)),
            Duration::from_secs(5)
        );
        assert!(Pace::REAL.notice().is_none());
    }
}
