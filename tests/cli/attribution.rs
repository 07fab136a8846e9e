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
