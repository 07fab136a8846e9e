//! Failures say who holds the leaked objects: a referrer chain from a root (a module
//! global, a class attribute, a closure, the logging manager) to one object of each
//! growing type, in every report.

use crate::support::{case, parse_junit, Scratch};

const REQAPP: &str = r#"_registry = {}
_next = [0]

class Request:
    def __init__(self, path):
        self.path = path

def handle(path):
    _next[0] += 1
    _registry[_next[0]] = {"request": Request(path), "status": 200}
"#;

const CACHEAPP: &str = r#"class Result:
    def __init__(self, name):
        self.name = name

class Resolver:
    _cache = {}

    def resolve(self, name):
        r = self._cache.get(name)
        if r is None:
            r = self._cache[name] = Result(name)
        return r
"#;

const SCENARIOS: &str = r#"scenarios:
  - name: registry
    setup: |
      import reqapp
      n = [0]
    run: |
      n[0] += 1
      reqapp.handle('/items/%d' % n[0])
  - name: closure
    setup: |
      class Req:
          pass
      def make_handler():
          seen = []
          def handler(req):
              seen.append(req)
          return handler
      handler = make_handler()
    run: handler(Req())
  - name: logger
    setup: |
      import logging
      class Req:
          pass
      class KeepHandler(logging.Handler):
          def __init__(self):
              super().__init__()
              self.records = []
          def emit(self, record):
              self.records.append(record)
      logger = logging.getLogger("memreg.requests")
      logger.propagate = False
      logger.addHandler(KeepHandler())
      del logger
    run: logging.getLogger("memreg.requests").warning("request %s", Req())
  - name: class-cache
    setup: |
      import cacheapp
      n = [0]
    run: |
      n[0] += 1
      cacheapp.Resolver().resolve('host%d' % n[0])
"#;

/// The chain line shown for `type_name` in a scenario's console details.
fn chain_line<'a>(stdout: &'a str, scenario: &str, type_name: &str) -> &'a str {
    let details = stdout
        .split(&format!("--- {scenario} ("))
        .nth(1)
        .unwrap_or_else(|| panic!("no details for {scenario}:\n{stdout}"));
    let held = details
        .split("\n---")
        .next()
        .unwrap()
        .split("  held by (")
        .nth(1)
        .unwrap_or_else(|| panic!("{scenario}: no chains:\n{details}"));
    held.lines()
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .map(str::trim)
        .find(|l| l.contains(&format!("({type_name})  [")))
        .unwrap_or_else(|| panic!("{scenario}: no chain ending at {type_name}:\n{held}"))
}

/// `prefix` then a number then `rest`.
fn matches_with_a_key(line: &str, prefix: &str, rest: &str) -> bool {
    line.strip_prefix(prefix)
        .and_then(|l| l.split_once(']'))
        .is_some_and(|(key, tail)| key.parse::<u64>().is_ok() && tail == rest)
}

#[test]
fn chains_name_the_global_the_closure_the_logger_and_the_class_that_hold_leaks() {
    let s = Scratch::new();
    s.write("reqapp.py", REQAPP);
    s.write("cacheapp.py", CACHEAPP);
    s.write(
        "holders.yaml",
        &SCENARIOS.replace(
            "    setup:",
            "    pythonpath: [.]\n    iterations: 100\n    warmup: 20\n    setup:",
        ),
    );
    let r = s.memreg(&[
        "run",
        "holders.yaml",
        "--junit",
        "j.xml",
        "--json",
        "r.json",
        "--markdown",
        "r.md",
        "--html",
        "r.html",
    ]);
    assert_eq!(r.code, 1, "{}", r.all());
    let out = &r.stdout;

    // A registry in the user's module: the module global and the key path.
    let registry = chain_line(out, "registry", "reqapp.Request");
    assert!(
        matches_with_a_key(
            registry,
            "reqapp._registry (dict) -> [",
            " (dict) -> ['request'] (reqapp.Request)  [module global]"
        ),
        "{registry}"
    );
    // A closure: the global holding the function, and the free variable.
    let closure = chain_line(out, "closure", "__memreg_scenario__.Req");
    assert!(
        closure.starts_with(
            "__memreg_scenario__.handler (function) -> .__closure__[0].cell_contents (list) -> ["
        ),
        "{closure}"
    );
    assert!(
        closure.ends_with("[module global; via free variable 'seen' of __memreg_scenario__.make_handler.<locals>.handler]"),
        "{closure}"
    );
    // A logger's handler keeps the records, and each record its arguments.
    let logger = chain_line(out, "logger", "__memreg_scenario__.Req");
    assert!(
        logger.starts_with("logging.Logger.manager (logging.Manager) -> .loggerDict (dict) -> ['memreg.requests'] (logging.Logger) -> .handlers (list) -> [0] (__memreg_scenario__.KeepHandler) -> .records (list) -> ["),
        "{logger}"
    );
    assert!(
        logger.ends_with("(logging.LogRecord) -> .args (tuple) -> [0] (__memreg_scenario__.Req)  [logging manager]"),
        "{logger}"
    );
    // A cache in a class attribute.
    let cache = chain_line(out, "class-cache", "cacheapp.Result");
    assert!(
        cache.starts_with("cacheapp.Resolver._cache (dict) -> ['host")
            && cache.ends_with("'] (cacheapp.Result)  [class attribute]"),
        "{cache}"
    );

    // The same lines in the JUnit failure body, the Markdown details and the HTML.
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    let body = case(&doc, "registry")
        .children()
        .find(|n| n.has_tag_name("failure"))
        .and_then(|f| f.text())
        .unwrap_or_default()
        .to_owned();
    assert!(body.contains(registry), "{body}");
    let md = s.read("r.md");
    for line in [registry, closure, logger, cache] {
        assert!(md.contains(line), "{line} not in\n{md}");
    }
    let html = s.read("r.html");
    assert!(html.contains("<th>held by</th>"), "{html}");
    let escaped = registry
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    assert!(html.contains(&format!("<td>{escaped}</td>")), "{escaped}");

    // JSON: the chain as data, with its path and its line.
    let json: serde_json::Value = serde_json::from_str(&s.read("r.json")).unwrap();
    let registry_json = json["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "registry")
        .unwrap();
    let held_by = registry_json["attribution"]["Ok"]["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "reqapp.Request")
        .map(|t| &t["held_by"])
        .unwrap();
    assert_eq!(held_by["root"], "module_global", "{held_by}");
    assert_eq!(held_by["holder"], "reqapp");
    assert_eq!(held_by["steps"][0]["link"]["path"], "._registry");
    assert_eq!(held_by["text"], registry);
    let path = held_by["path"].as_str().unwrap();
    assert!(
        matches_with_a_key(path, "reqapp._registry[", "['request']"),
        "{path}"
    );
    assert!(held_by["seconds"].as_f64().unwrap() < 2.0, "{held_by}");
}

#[test]
fn uncollectable_garbage_is_reported_with_its_types() {
    let s = Scratch::new();
    s.write(
        "g.yaml",
        "name: saveall\nsetup: |\n  import gc\n  class Node:\n      pass\n  gc.set_debug(gc.DEBUG_SAVEALL)\nrun: |\n  a = Node()\n  a.me = a\n  del a\niterations: 100\nwarmup: 10\n",
    );
    let r = s.memreg(&["run", "g.yaml", "--json", "r.json"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.stdout
            .contains("  uncollectable garbage (gc.garbage grows +")
            && r.stdout.contains("gc.DEBUG_SAVEALL is set")
            && r.stdout.contains("__memreg_scenario__.Node +1.00/it"),
        "{}",
        r.stdout
    );
    let node = r
        .stdout
        .lines()
        .find(|l| l.ends_with("(__memreg_scenario__.Node)  [gc.garbage]"))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(node.trim().starts_with("gc.garbage (list) -> ["), "{node}");
    let json: serde_json::Value = serde_json::from_str(&s.read("r.json")).unwrap();
    let garbage = &json["scenarios"][0]["attribution"]["Ok"]["uncollectable"];
    assert_eq!(garbage["debug_saveall"], true, "{garbage}");
    assert!(
        garbage["per_iteration"].as_f64().unwrap() >= 1.0,
        "{garbage}"
    );
}
