//! `SPANWRIGHT_SPANS`: spans turned on or off by crate or module path, as the
//! application decides (`storage_lib=off,storage_lib::upload=on`). The decision
//! is cached in each call site, so a site turned off costs a load and a compare
//! more than the disabled path; its function runs without a span, and what it
//! calls attaches to its caller's span.

use crate::span::site::Site;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Directives in force, most specific target first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Directives(Vec<(String, bool)>);

impl Directives {
    /// `target=on|off`, comma-separated; a target is a crate or module path as
    /// `module_path!()` writes it (`storage_lib::upload`).
    pub(crate) fn parse(text: &str) -> Result<Directives, String> {
        let mut directives = Vec::new();
        for directive in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let (target, value) = directive
                .split_once('=')
                .ok_or_else(|| format!("{directive:?} has no `=on` or `=off`"))?;
            let target = target.trim();
            let valid_segment =
                |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !target.split("::").all(valid_segment) {
                return Err(format!(
                    "{target:?} is not a crate or module path (write `-` as `_`: `storage_lib::upload`)"
                ));
            }
            let on = match value.trim().to_ascii_lowercase().as_str() {
                "on" => true,
                "off" => false,
                other => return Err(format!("{other:?} after {target:?} is neither on nor off")),
            };
            directives.push((target.to_owned(), on));
        }
        // The most specific target first; a later directive for the same target wins.
        directives.reverse();
        directives.sort_by_key(|(target, _)| std::cmp::Reverse(target.matches("::").count()));
        directives.dedup_by(|later, earlier| later.0 == earlier.0);
        Ok(Directives(directives))
    }

    /// Whether a function at `path` (`module::path::function`) records spans.
    fn allows(&self, path: &str) -> bool {
        self.0
            .iter()
            .find(|(target, _)| {
                path.strip_prefix(target.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
            })
            .is_none_or(|(_, on)| *on)
    }
}

static CURRENT: RwLock<Option<Arc<Directives>>> = RwLock::new(None);
/// Changes whenever `CURRENT` does; a site's cached decision names the
/// generation it was made in.
static GENERATION: AtomicU64 = AtomicU64::new(1);

/// Puts `directives` in force (none: every span on).
pub(crate) fn set(directives: Option<Directives>) {
    let mut current = CURRENT.write().unwrap_or_else(|p| p.into_inner());
    *current = directives.filter(|d| !d.0.is_empty()).map(Arc::new);
    GENERATION.fetch_add(1, Ordering::Release);
}

impl Site {
    /// Whether this site records spans under the directives in force.
    #[inline]
    pub fn allowed(&self) -> bool {
        let generation = GENERATION.load(Ordering::Acquire);
        let cached = self.filter.0.load(Ordering::Relaxed);
        if cached >> 1 == generation {
            cached & 1 == 1
        } else {
            self.decide(generation)
        }
    }

    #[cold]
    #[inline(never)]
    fn decide(&self, generation: u64) -> bool {
        let current = CURRENT.read().unwrap_or_else(|p| p.into_inner());
        let on = current.as_ref().is_none_or(|d| d.allows(self.function));
        self.filter
            .0
            .store(generation << 1 | u64::from(on), Ordering::Relaxed);
        on
    }
}

#[cfg(test)]
mod tests {
    use super::Directives;

    #[test]
    fn the_most_specific_target_wins() {
        let d = Directives::parse("storage_lib=off, storage_lib::upload=on").unwrap();
        assert!(!d.allows("storage_lib::fetch"));
        assert!(!d.allows("storage_lib::download::part"));
        assert!(d.allows("storage_lib::upload::put"));
        assert!(
            d.allows("storage_lib_extra::fetch"),
            "a prefix is not a parent"
        );
        assert!(d.allows("app::main"));
        let d = Directives::parse("a=off,a=on").unwrap();
        assert!(
            d.allows("a::f"),
            "a later directive for the same target wins"
        );
    }

    #[test]
    fn bad_directives_say_why() {
        assert!(
            Directives::parse("storage-lib=off")
                .unwrap_err()
                .contains("`_`")
        );
        assert!(
            Directives::parse("storage_lib")
                .unwrap_err()
                .contains("=on")
        );
        assert!(
            Directives::parse("a=maybe")
                .unwrap_err()
                .contains("neither")
        );
        assert!(Directives::parse("a::=off").is_err());
        assert_eq!(Directives::parse(" , ").unwrap(), Directives(Vec::new()));
    }
}
