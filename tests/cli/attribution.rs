//! Failures say where: attribution names the file and line that kept the memory for
//! leaks written the ways they happen in real code, and calls native leaks native.

use crate::support::{case, parse_junit, Scratch};

const APP: &str = r#"import functools, logging

_seen = []                                  # line 3
def remember(x):
    _seen.append({"x": x, "pad": "." * 40})  # line 5: module-level list

class Service:
    @functools.lru_cache(maxsize=None)      # line 8
    def lookup(self, key):
        return [key] * 4                     # line 10

_callbacks = []
def subscribe(data):
    _callbacks.append(lambda: data)          # line 14: registry of closures

def log_request(i):
    log = logging.getLogger("request.%d" % i)  # line 17: a logger per call
    log.debug("x")

class Registry:
    items = {}                               # line 21
    def add(self, i):
        self.items[i] = "value-%d" % i       # line 23: class-level dict
"#;

const SCENARIOS: &str = r#"scenarios:
  - name: module-list
    setup: import app
    run: app.remember(1)
  - name: lru-method
    setup: import app
    run: app.Service().lookup(1)
  - name: callbacks
    setup: import app
    run: app.subscribe(object())
  - name: loggers
    setup: |
      import app, itertools
      ids = itertools.count()
    run: app.log_request(next(ids))
  - name: class-dict
    setup: |
      import app, itertools
      ids = itertools.count()
      r = app.Registry()
    run: r.add(next(ids))
  - name: native
    setup: |
      import ctypes
      libc = ctypes.CDLL(None)
      libc.malloc.restype = ctypes.c_void_p
    run: libc.malloc(256)
"#;

#[test]
fn attribution_names_the_line_that_keeps_the_memory() {
    let s = Scratch::new();
    s.write("app.py", APP);
    s.write(
        "leaks.yaml",
        &SCENARIOS.replace(
            "    setup:",
            "    pythonpath: [.]\n    iterations: 400\n    setup:",
        ),
    );
    let r = s.memreg(&["run", "leaks.yaml", "--junit", "j.xml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let expect = [
        ("module-list", "app.py:5"),
        // The instances the cache pins are created by the caller; the method's own
        // allocation comes second, and the growing type names the class.
        ("lru-method", "leaks.yaml:"),
        ("callbacks", "app.py:14"),
        ("loggers", "app.py:17"),
        ("class-dict", "app.py:23"),
    ];
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    for (name, site) in expect {
        let failure = case(&doc, name)
            .children()
            .find(|n| n.has_tag_name("failure"))
            .unwrap_or_else(|| panic!("{name} must fail:\n{}", r.stdout));
        let body = failure.text().unwrap_or("");
        let where_ = body
            .split("where (tracemalloc")
            .nth(1)
            .unwrap_or_else(|| panic!("{name}: no attribution:\n{body}"));
        // The first site listed is the biggest.
        let first_site = where_.lines().nth(1).unwrap_or("").trim();
        assert!(
            first_site.starts_with(site),
            "{name}: first site `{first_site}`, want {site}\n{body}"
        );
        assert!(first_site.contains("/it"), "{first_site}");
        assert!(
            !where_.contains("<string>") && !where_.contains("importlib"),
            "probe frames left out:\n{where_}"
        );
    }
    let lru = r
        .stdout
        .split("--- lru-method")
        .nth(1)
        .unwrap()
        .split("\n---")
        .next()
        .unwrap();
    assert!(lru.contains("app.py:10  +"), "{lru}");
    assert!(
        lru.contains("growing types (gc): app.Service +1.00/it"),
        "{lru}"
    );
    let native = case(&doc, "native")
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    let body = native.text().unwrap();
    assert!(body.contains("native: the native heap grows"), "{body}");
    assert!(body.contains("memory allocated outside Python"), "{body}");
}

#[test]
fn growing_object_types_are_counted() {
    let s = Scratch::new();
    s.write(
        "t.yaml",
        "name: nodes\nsetup: |\n  class Node:\n      def __init__(self):\n          self.peer = self\n  keep = []\nrun: keep.append(Node())\niterations: 200\n",
    );
    let r = s.memreg(&["run", "t.yaml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout
            .contains("growing types (gc): __memreg_scenario__.Node +1.00/it"),
        "{}",
        r.stdout
    );
}

#[test]
fn no_attribution_skips_it_and_attribution_settings_apply() {
    let s = Scratch::new();
    s.write("t.yaml", "name: l\nsetup: L = []\nrun: L.append(object())\niterations: 100\nattribution: {frames: 2, top: 1}\n");
    let r = s.memreg(&["run", "t.yaml", "--no-attribution"]);
    assert_eq!(r.code, 1);
    assert!(!r.stdout.contains("where (tracemalloc"), "{}", r.stdout);
    let r = s.memreg(&["run", "t.yaml"]);
    assert!(
        r.stdout
            .contains("where (tracemalloc over 100 iterations, 2 frames)"),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stdout.matches("+/it").count() + r.stdout.matches(" blocks/it").count(),
        1,
        "top: 1 site\n{}",
        r.stdout
    );
}

/// One small dict kept per 128 calls, through json (three frames below the user's
/// line), among garbage made and dropped every call and an int that lives until the
/// next call, allocated two frames deep.
const RARE: &str = r#"import json

_kept = []
def _store(text):
    _kept.append(json.loads(text))          # line 5: the leak
_calls = [1 << 20]                          # a new int each call, kept until the next
def handle(i):
    _calls[0] += 1
    scratch = [str(i)] * 8
    if _calls[0] % 128 == 0:
        _store('{"n": %d, "pad": "%s"}' % (i, "x" * 16))
    return len(scratch)
"#;

#[test]
fn a_leak_of_one_small_object_per_128_iterations_is_attributed_to_its_line() {
    // The window is sized by the measured growth (0.02 blocks/it: the most, 1000
    // iterations), and keeps as many frames as the warm-up's allocations needed:
    // with 200 warm-up iterations it saw the leak; with 100 it saw only the int, two
    // frames deep, so the window's leak lost its frames and the passes ran again.
    let s = Scratch::new();
    s.write("rare.py", RARE);
    let scenario = |name: &str, warmup: u32| {
        format!(
            "  - name: {name}\n    pythonpath: [.]\n    warmup: {warmup}\n    setup: |\n      import rare, itertools\n      ids = itertools.count(1000)\n    run: rare.handle(next(ids))\n"
        )
    };
    s.write(
        "rare.yaml",
        &format!(
            "scenarios:\n{}{}",
            scenario("seen-in-warmup", 200),
            scenario("deeper-than-warmup", 100)
        ),
    );
    let r = s.memreg(&["run", "rare.yaml", "--json", "r.json"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let json: serde_json::Value = serde_json::from_str(&s.read("r.json")).unwrap();
    let scenarios = json["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 2);
    for scenario in scenarios {
        let name = scenario["name"].as_str().unwrap();
        let a = &scenario["attribution"]["Ok"];
        assert_eq!(a["iterations"], 1000, "{name}: {a}");
        let site = &a["sites"][0];
        assert_eq!(
            (site["file"].as_str(), site["line"].as_u64()),
            (Some("rare.py"), Some(5)),
            "{name}: {a}"
        );
        assert_eq!(site["user_code"], true, "{name}");
        // Each of the two dicts per 256 iterations, as allocated in json.
        let blocks = site["blocks_per_iteration"].as_f64().unwrap();
        assert!((0.01..0.1).contains(&blocks), "{name}: {blocks}");
        let frames: Vec<&str> = site["traceback"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["file"].as_str().unwrap())
            .collect();
        assert!(
            frames.len() >= 4 && frames.last().unwrap().ends_with("decoder.py"),
            "{name}: the traceback reaches into json: {frames:?}"
        );
    }
}
