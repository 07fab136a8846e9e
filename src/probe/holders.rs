//! Who holds leaked objects, as the attribution process reports them
//! (src/probe/py/referrers.py): a referrer chain from a root to one object of each
//! growing type, and garbage the collector found but could not free. Data only:
//! the sentences are in `report::prose`.

use serde::Deserialize;

/// The chain of references from a root to one object of a growing type made during
/// the attribution iterations (the middle one: the last are often still held by the
/// body's own variables).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Chain {
    /// The expression the path starts from: `reqapp`, `cacheapp.Resolver`,
    /// `<frame of thread 'w', run() at app.py:9>`, or `<list held by ?>` when the
    /// search gave up there; `None` when nothing refers to the object.
    pub holder: Option<String>,
    /// From the holder down to the object.
    pub steps: Vec<Step>,
    /// The kind of root the chain starts at; `None` when the search gave up.
    pub root: Option<Root>,
    /// The first closure on the way, when there is one.
    #[serde(default)]
    pub closure: Option<Closure>,
    /// Why there is no root.
    #[serde(default)]
    pub gave_up: Option<GiveUp>,
    /// A closure or a class made at run time is the root only when nothing beyond it
    /// is found: why nothing was.
    #[serde(default)]
    pub beyond: Option<GiveUp>,
    /// Breadth-first levels searched.
    pub levels: u64,
    /// Objects the search went through.
    pub inspected: u64,
    pub seconds: f64,
}

/// One reference along a chain: how the previous object refers to the next, and
/// the next one's type.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Step {
    pub link: Link,
    #[serde(rename = "type")]
    pub type_name: String,
}

/// How an object refers to the next one.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// What a path spells: `._registry`, `[121]`, `['request']`,
    /// `.__closure__[0].cell_contents`, `.f_locals['done']`.
    Path(String),
    /// A member of a set.
    SetMember,
    /// A key of a dict.
    DictKey,
    /// A reference C code holds with no name a path could use (an lru_cache's
    /// entries, an extension's fields).
    Internal,
}

/// What kind of root a chain starts at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Root {
    ModuleGlobal,
    ClassAttribute,
    /// A class itself (its `__mro__`, `__bases__`, or a reference its C code keeps).
    Class,
    /// A closure whose function nothing the collector sees holds.
    ClosureCell,
    /// A local of another thread's frame.
    ThreadFrame,
    /// A C module's internal state.
    ModuleState,
    /// `atexit`'s callbacks (visible to the collector on 3.8-3.10).
    Atexit,
    SysModules,
    /// `gc.garbage`: uncollectable, or kept by `gc.DEBUG_SAVEALL`.
    GcGarbage,
    LoggingManager,
    /// `weakref.finalize`'s registry of pending finalizers.
    WeakrefFinalize,
    /// CPython's weak registry of a class's subclasses.
    SubclassRegistry,
}

/// A closure on the way: the function and its free variable.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Closure {
    pub variable: String,
    pub function: String,
}

/// Why a search ended without a root.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum GiveUp {
    /// Its time budget was spent at this breadth-first level.
    Time {
        budget_s: f64,
        level: u64,
        inspected: u64,
    },
    /// No root within this many links.
    Depth { max_depth: u64 },
    /// More objects on the way than a search may hold.
    TooMany { max_objects: u64 },
    /// Nothing the collector sees refers to the object (`referrers: false`) or to
    /// the farthest object reached: C code holds it.
    NoRoot { referrers: bool },
    /// No object of the type made during the iterations was alive to search from.
    NotFound,
    /// The search raised (a bug, or a hostile heap).
    Failed { message: String },
}

/// Objects the collector found unreachable but could not free (`gc.garbage`
/// growth), by type.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Garbage {
    pub per_iteration: f64,
    pub types: Vec<GarbageType>,
    /// `gc.DEBUG_SAVEALL` is on: gc.garbage keeps every object the collector frees.
    pub debug_saveall: bool,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct GarbageType {
    #[serde(rename = "type")]
    pub type_name: String,
    pub per_iteration: f64,
}
