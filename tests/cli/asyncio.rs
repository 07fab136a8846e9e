//! Async bodies: top-level `await` in `setup`, `run` and `teardown`, run on one
//! asyncio event loop per process, with real Python.

use crate::support::{case, parse_junit, property, Scratch};

const FAST: &str = "iterations: 400\n    warmup: 50";

#[cfg(target_os = "linux")]
#[test]
fn async_bodies_run_on_one_loop_keep_nothing_and_leak_when_they_leak() {
    let s = Scratch::new();
    s.write(
        "a.yaml",
        &format!(
            r#"scenarios:
  - name: sleep
    setup: import asyncio
    run: await asyncio.sleep(0)
    metrics: [blocks, native, rss, tracemalloc]
    {FAST}
  - name: client
    setup: |
      import asyncio
      class Client:
          async def connect(self):
              self.loop = asyncio.get_running_loop()
          async def get(self, key):
              await asyncio.sleep(0)
              assert asyncio.get_running_loop() is self.loop  # one loop per process
              return {{"k": 1}}[key]
          async def aclose(self):
              self.closed = True
      client = Client()
      await client.connect()
    run: assert await client.get("k") == 1
    teardown: |
      await client.aclose()
      assert client.closed
    {FAST}
  - name: async-leak
    setup: |
      import asyncio
      kept = []
      async def remember():
          await asyncio.sleep(0)
          kept.append(object())
    run: await remember()
    {FAST}
    confirm: {{iterations: 400}}
  - name: plain-code-imports-no-asyncio
    setup: import sys
    run: assert "asyncio" not in sys.modules
    processes: 1
    iterations: 16
    warmup: 0
  - name: async-teardown-raises
    setup: |
      async def fail():
          raise RuntimeError("teardown awaited")
    run: pass
    teardown: await fail()
    processes: 1
    iterations: 16
    warmup: 0
"#
        ),
    );
    let r = s.memreg(&["run", "a.yaml", "--junit", "j.xml"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let xml = s.read("j.xml");
    let doc = parse_junit(&xml);
    for (name, counters) in [
        ("sleep", &["blocks", "native", "rss", "tracemalloc"][..]),
        ("client", &["blocks", "native", "rss"][..]),
    ] {
        let c = case(&doc, name);
        assert!(
            c.children()
                .all(|n| !n.is_element() || n.has_tag_name("properties")),
            "{name} passes:\n{xml}"
        );
        for counter in counters {
            for stat in ["min", "max"] {
                let v = property(c, &format!("growth.{counter}.{stat}")).unwrap();
                assert_eq!(v.parse::<f64>().unwrap(), 0.0, "{name} {counter}\n{xml}");
            }
        }
    }
    let leak = case(&doc, "async-leak");
    let failure = leak
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("the async leak is found");
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .starts_with("Python blocks grows 1 blk/iteration (5/5"),
        "{xml}"
    );
    // Attributed to the line of the async function that keeps the object.
    assert_eq!(leak.attribute("line"), Some("34"), "{xml}");
    let plain = case(&doc, "plain-code-imports-no-asyncio");
    assert!(plain.children().all(|n| !n.has_tag_name("error")), "{xml}");
    let teardown = case(&doc, "async-teardown-raises");
    let error = teardown
        .children()
        .find(|n| n.has_tag_name("error"))
        .expect("teardown's exception is an error");
    assert!(
        error
            .attribute("message")
            .unwrap()
            .contains("RuntimeError: teardown awaited (in teardown)"),
        "{xml}"
    );
    assert!(error.text().unwrap().contains("a.yaml\", line 48"), "{xml}");
}
