//! What is said about where a failure's memory comes from and who holds it: the
//! allocation sites, the types that grew, referrer chains and uncollectable garbage.

use super::quantities::iterations;
use crate::probe::holders::{Chain, Garbage, GiveUp, Link, Root};
use crate::probe::wire::Site;
use crate::probe::Attribution;
use crate::report::model::Outcome;
use crate::units::format_bytes;

/// Where the memory comes from: allocation sites with a short traceback, growing
/// object types, and native growth no Python site accounts for.
pub fn attribution_lines(o: &Outcome) -> Vec<String> {
    let mut lines = Vec::new();
    match &o.attribution {
        None => return lines,
        Some(Err(e)) => {
            lines.push(format!("  where: attribution failed: {e}"));
            return lines;
        }
        Some(Ok(a)) => {
            lines.push(format!(
                "  where (tracemalloc over {} iterations, {} frames):",
                a.iterations, a.frames
            ));
            if a.sites.is_empty() {
                lines.push("    no Python allocation site kept memory".into());
            }
            for site in &a.sites {
                lines.push(format!(
                    "    {}:{}  +{}/it, {:+.2} blocks/it",
                    site.file,
                    site.line,
                    format_bytes(site.bytes_per_iteration),
                    site.blocks_per_iteration
                ));
                lines.extend(
                    short_traceback(site)
                        .into_iter()
                        .map(|l| format!("      {l}")),
                );
            }
            if !a.types.is_empty() {
                let types: Vec<String> = a
                    .types
                    .iter()
                    .map(|t| format!("{} {:+.2}/it", t.type_name, t.per_iteration))
                    .collect();
                lines.push(format!("  growing types (gc): {}", types.join(", ")));
            }
            lines.extend(holder_lines(a));
        }
    }
    if let Some((native, traced)) = o.unaccounted_native() {
        lines.push(format!(
            "  native: the native heap grows {}/it but Python allocations account for {}/it: memory allocated outside Python (a C extension, ctypes, a library's malloc)",
            format_bytes(native),
            format_bytes(traced)
        ));
    }
    lines
}

/// Who holds the growing types (a referrer chain each), uncollectable garbage, and
/// atexit registrations that the chains cannot see through.
pub fn holder_lines(a: &Attribution) -> Vec<String> {
    let mut lines = Vec::new();
    let chains: Vec<(&str, &Chain)> = a
        .types
        .iter()
        .filter_map(|t| Some((t.type_name.as_str(), t.held_by.as_ref()?)))
        .collect();
    if !chains.is_empty() {
        let seconds: f64 = chains.iter().map(|(_, c)| c.seconds).sum();
        lines.push(format!(
            "  held by (from a root to one object of each growing type; searched in {seconds:.2} s):"
        ));
        lines.extend(
            chains
                .iter()
                .map(|(t, c)| format!("    {}", chain_line(t, c))),
        );
    }
    if let Some(g) = a.uncollectable.as_ref().filter(|g| g.per_iteration > 0.0) {
        lines.push(format!("  {}", garbage_line(g)));
    }
    if let Some(n) = a.atexit_per_iteration.filter(|n| *n > 0.0) {
        lines.push(format!(
            "  atexit callbacks grow {n:+.2}/it: atexit.register keeps each callback and its arguments until the interpreter exits (out of the collector's sight on Python 3.11+, where chains through them give up)"
        ));
    }
    lines
}

/// `uncollectable garbage (gc.garbage grows +1.00/it: ...): app.Node +1.00/it`
pub fn garbage_line(g: &Garbage) -> String {
    let types: Vec<String> = g
        .types
        .iter()
        .map(|t| format!("{} {:+.2}/it", t.type_name, t.per_iteration))
        .collect();
    let what = if g.debug_saveall {
        "gc.DEBUG_SAVEALL is set: gc.garbage keeps every object the collector frees"
    } else {
        "objects the collector found unreachable but could not free"
    };
    format!(
        "uncollectable garbage (gc.garbage grows {:+.2}/it; {what}): {}",
        g.per_iteration,
        types.join(", ")
    )
}

/// What a link says where a path cannot spell it.
fn link_words(link: &Link) -> &str {
    match link {
        Link::Path(p) => p,
        Link::SetMember => "(member of set)",
        Link::DictKey => "(a key of the dict)",
        Link::Internal => "(internal reference)",
    }
}

/// The chain as one expression, as far as a path can spell it (a debugger can
/// evaluate it): `reqapp._registry[121]['request']`.
pub fn chain_path(c: &Chain) -> String {
    let mut out = c.holder.clone().unwrap_or_default();
    for step in &c.steps {
        match &step.link {
            Link::Path(p) => out.push_str(p),
            other => {
                out.push(' ');
                out.push_str(link_words(other));
            }
        }
    }
    out
}

/// One chain, every object with its type, and where it starts or why it gave up:
/// `reqapp._registry (dict) -> [121] (dict) -> ['request'] (reqapp.Request)  [module global]`
pub fn chain_line(type_name: &str, c: &Chain) -> String {
    let body = match (c.holder.as_deref(), c.steps.split_first()) {
        (None, _) => format!("{type_name} (no referrer found)"),
        (Some(holder), None) => format!("{holder} ({type_name})"),
        (Some(holder), Some((first, rest))) => {
            let joined = match &first.link {
                Link::Path(p) => format!("{holder}{p}"),
                other => format!("{holder} {}", link_words(other)),
            };
            let mut parts = vec![format!("{joined} ({})", first.type_name)];
            parts.extend(
                rest.iter()
                    .map(|s| format!("{} ({})", link_words(&s.link), s.type_name)),
            );
            parts.join(" -> ")
        }
    };
    format!("{body}  [{}]", chain_end(c))
}

/// Where a chain starts, or why it gave up.
pub fn chain_end(c: &Chain) -> String {
    let Some(root) = c.root else {
        return match &c.gave_up {
            Some(g) => format!("gave up: {}", give_up(g)),
            None => "gave up".into(),
        };
    };
    let mut end = match root {
        Root::ModuleGlobal => "module global".to_owned(),
        Root::ClassAttribute => "class attribute".to_owned(),
        Root::Class => "class".to_owned(),
        Root::ClosureCell => "closure cell".to_owned(),
        Root::ThreadFrame => "thread frame".to_owned(),
        Root::ModuleState => format!(
            "internal state of module {}",
            c.holder.as_deref().unwrap_or("?")
        ),
        Root::Atexit => "atexit: registered with atexit.register".to_owned(),
        Root::SysModules => "sys.modules".to_owned(),
        Root::GcGarbage => "gc.garbage".to_owned(),
        Root::LoggingManager => "logging manager".to_owned(),
        Root::WeakrefFinalize => "weakref.finalize registry".to_owned(),
        Root::SubclassRegistry => {
            "the weak registry of subclasses CPython keeps on a class".to_owned()
        }
    };
    if let Some(cl) = &c.closure {
        let sep = if root == Root::ClosureCell {
            ": "
        } else {
            "; via "
        };
        end.push_str(&format!(
            "{sep}free variable '{}' of {}",
            cl.variable, cl.function
        ));
    }
    if let Some(b) = &c.beyond {
        end.push_str(&format!("; nothing found beyond it: {}", give_up(b)));
    }
    end
}

/// Why a referrer-chain search gave up.
pub fn give_up(g: &GiveUp) -> String {
    const C_CODE: &str = "it is held from C (an object of a C type the collector does not track, an extension's static or cache, a reference-count leak, or on Python 3.11+ an atexit callback or a running frame's value stack)";
    match g {
        GiveUp::Time {
            budget_s,
            level,
            inspected,
        } => format!(
            "time budget {budget_s:.1} s spent at depth {level} after {} objects",
            iterations(*inspected)
        ),
        GiveUp::Depth { max_depth } => format!("no root within {max_depth} links"),
        GiveUp::TooMany { max_objects } => format!(
            "more than {} objects on the way to a root",
            iterations(*max_objects)
        ),
        GiveUp::NoRoot { referrers: false } => {
            format!("nothing the garbage collector can see refers to it: {C_CODE}")
        }
        GiveUp::NoRoot { referrers: true } => format!(
            "the chain ends at an object nothing the garbage collector can see refers to: {C_CODE}"
        ),
        GiveUp::NotFound => "no object of this type made during the iterations is alive to search from (its count grew through older objects the collector started tracking)".into(),
        GiveUp::Failed { message } => format!("the search failed: {message}"),
    }
}

/// The site's source line, where it allocated when that is deeper (a library), and
/// at most two callers.
pub fn short_traceback(site: &Site) -> Vec<String> {
    let tb = &site.traceback;
    let at = tb
        .iter()
        .rposition(|f| f.file == site.file && f.line == site.line);
    let mut lines = Vec::new();
    let Some(at) = at else { return lines };
    if !tb[at].source.is_empty() {
        lines.push(tb[at].source.clone());
    }
    if let Some(inner) = tb.last().filter(|_| at + 1 < tb.len()) {
        lines.push(format!("allocated in {}:{}", inner.file, inner.line));
    }
    for f in tb[..at].iter().rev().take(2) {
        lines.push(format!("called from {}:{}  {}", f.file, f.line, f.source));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::holders::{Closure, Step};

    fn step(link: Link, type_name: &str) -> Step {
        Step {
            link,
            type_name: type_name.into(),
        }
    }

    fn path(p: &str) -> Link {
        Link::Path(p.into())
    }

    fn chain(holder: Option<&str>, steps: Vec<Step>, root: Option<Root>) -> Chain {
        Chain {
            holder: holder.map(str::to_owned),
            steps,
            root,
            closure: None,
            gave_up: None,
            beyond: None,
            levels: 3,
            inspected: 4,
            seconds: 0.01,
        }
    }

    #[test]
    fn a_chain_reads_as_a_path_with_every_type_and_its_root() {
        let c = chain(
            Some("reqapp"),
            vec![
                step(path("._registry"), "dict"),
                step(path("[121]"), "dict"),
                step(path("['request']"), "reqapp.Request"),
            ],
            Some(Root::ModuleGlobal),
        );
        assert_eq!(
            chain_line("reqapp.Request", &c),
            "reqapp._registry (dict) -> [121] (dict) -> ['request'] (reqapp.Request)  [module global]"
        );
        assert_eq!(chain_path(&c), "reqapp._registry[121]['request']");
    }

    #[test]
    fn links_no_path_can_spell_are_said_in_words() {
        let c = chain(
            Some("app"),
            vec![
                step(path(".members"), "set"),
                step(Link::SetMember, "app.Target"),
            ],
            Some(Root::ModuleGlobal),
        );
        assert_eq!(
            chain_line("app.Target", &c),
            "app.members (set) -> (member of set) (app.Target)  [module global]"
        );
        let c = chain(
            Some("app"),
            vec![step(Link::Internal, "app.Target")],
            Some(Root::ModuleState),
        );
        assert_eq!(
            chain_line("app.Target", &c),
            "app (internal reference) (app.Target)  [internal state of module app]"
        );
        assert_eq!(chain_path(&c), "app (internal reference)");
    }

    #[test]
    fn closures_and_soft_roots_say_how_they_were_reached() {
        let mut c = chain(
            Some("app"),
            vec![
                step(path(".handler"), "function"),
                step(path(".__closure__[0].cell_contents"), "list"),
                step(path("[3]"), "app.Req"),
            ],
            Some(Root::ModuleGlobal),
        );
        c.closure = Some(Closure {
            variable: "seen".into(),
            function: "app.make.<locals>.handler".into(),
        });
        assert!(chain_line("app.Req", &c)
            .ends_with("[module global; via free variable 'seen' of app.make.<locals>.handler]"));
        c.root = Some(Root::ClosureCell);
        c.beyond = Some(GiveUp::NoRoot { referrers: true });
        let line = chain_line("app.Req", &c);
        assert!(
            line.contains("[closure cell: free variable 'seen' of app.make.<locals>.handler; nothing found beyond it: the chain ends at an object nothing the garbage collector can see refers to: it is held from C ("),
            "{line}"
        );
    }

    #[test]
    fn a_search_that_gave_up_says_why() {
        let mut c = chain(
            Some("<list held by ?>"),
            vec![step(path("[0]"), "list"), step(path("[0]"), "app.Target")],
            None,
        );
        c.gave_up = Some(GiveUp::Time {
            budget_s: 2.0,
            level: 7,
            inspected: 123_456,
        });
        assert_eq!(
            chain_line("app.Target", &c),
            "<list held by ?>[0] (list) -> [0] (app.Target)  [gave up: time budget 2.0 s spent at depth 7 after 123,456 objects]"
        );
        c.gave_up = Some(GiveUp::Depth { max_depth: 12 });
        assert!(chain_line("app.Target", &c).ends_with("[gave up: no root within 12 links]"));
        let nothing = Chain {
            gave_up: Some(GiveUp::NoRoot { referrers: false }),
            ..chain(None, vec![], None)
        };
        let line = chain_line("app.Target", &nothing);
        assert!(
            line.starts_with("app.Target (no referrer found)  [gave up: nothing the garbage collector can see refers to it: it is held from C ("),
            "{line}"
        );
    }

    #[test]
    fn uncollectable_garbage_names_its_types() {
        let g = Garbage {
            per_iteration: 2.0,
            types: vec![crate::probe::holders::GarbageType {
                type_name: "app.Node".into(),
                per_iteration: 1.0,
            }],
            debug_saveall: false,
        };
        assert_eq!(
            garbage_line(&g),
            "uncollectable garbage (gc.garbage grows +2.00/it; objects the collector found unreachable but could not free): app.Node +1.00/it"
        );
    }
}
