//! The commands with a fake runner: the application's decisions (what runs, what
//! is compared, explained, recorded) without Python.

use super::baselines::{self, Recorded};
use super::*;
use crate::baseline::BaselineResult;
use crate::plan::Shard;
use crate::report::{Change, Check, Figure};
use crate::runner::fake::FakeRunner;
use crate::scenario::Scenario;

struct Quiet;
impl Progress for Quiet {
    fn process_done(&self, _: usize, _: usize, _: &Scenario) {}
}
impl Events for Quiet {}

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A project with one scenario file holding `scenarios` (name, run code, extra
    /// YAML lines).
    fn new(scenarios: &[(&str, &str, &str)]) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let mut yaml = String::from("scenarios:\n");
        for (name, run, extra) in scenarios {
            yaml.push_str(&format!(
                "  - name: {name}\n    run: {run}\n    iterations: 100\n{extra}"
            ));
        }
        std::fs::create_dir_all(dir.path().join("scenarios")).unwrap();
        std::fs::write(dir.path().join("scenarios/suite.yaml"), yaml).unwrap();
        Project { dir }
    }

    fn options(&self) -> RunOptions {
        RunOptions {
            selection: Selection {
                paths: vec![self.dir.path().join("scenarios")],
                python: Some(std::env::current_exe().unwrap().display().to_string()),
                ..Selection::default()
            },
            jobs: Some(2),
            baselines: self.dir.path().join("baselines"),
            strict: false,
            attribution: true,
            candidates: None,
        }
    }

    fn rewrite(&self, scenarios: &[(&str, &str, &str)]) {
        let fresh = Project::new(scenarios);
        std::fs::copy(
            fresh.dir.path().join("scenarios/suite.yaml"),
            self.dir.path().join("scenarios/suite.yaml"),
        )
        .unwrap();
    }
}

fn statuses(out: &RunOutput) -> Vec<(String, Check)> {
    out.report
        .outcomes
        .iter()
        .map(|o| (o.name.clone(), o.status()))
        .collect()
}

#[test]
fn a_run_measures_every_process_and_explains_only_unexpected_failures() {
    let p = Project::new(&[
        ("clean", "pass", ""),
        ("leaky", "blocks+=1", ""),
        ("known", "native+=8", "    expect: leak\n"),
    ]);
    let runner = FakeRunner::default();
    let out = run(&p.options(), &runner, &Quiet).unwrap();
    assert_eq!(
        statuses(&out),
        vec![
            ("clean".into(), Check::Passed),
            ("leaky".into(), Check::Failed),
            ("known".into(), Check::Passed),
        ]
    );
    assert_eq!(
        runner.measured.lock().unwrap().len(),
        15,
        "5 processes each"
    );
    assert_eq!(*runner.attributed.lock().unwrap(), vec!["leaky"]);
    assert!(out.report.outcomes[1].attribution.is_some());
    assert!(!out.report.passed());

    let runner = FakeRunner::default();
    let mut opts = p.options();
    opts.attribution = false;
    run(&opts, &runner, &Quiet).unwrap();
    assert!(
        runner.attributed.lock().unwrap().is_empty(),
        "--no-attribution"
    );
}

#[test]
fn code_that_does_not_compile_stops_the_run_before_any_process() {
    let p = Project::new(&[("good", "pass", ""), ("bad", "syntax-error", "")]);
    let runner = FakeRunner::default();
    let errors = run(&p.options(), &runner, &Quiet).err().unwrap();
    assert!(errors.before_running());
    assert_eq!(errors.0.len(), 1);
    assert!(
        errors.0[0].to_string().contains("scenario `bad`"),
        "{:?}",
        errors.0
    );
    assert!(runner.measured.lock().unwrap().is_empty());
}

#[test]
fn selection_and_shards_pick_scenarios_in_discovery_order() {
    let p = Project::new(&[
        ("alpha-one", "pass", ""),
        ("beta", "pass", ""),
        ("alpha-two", "pass", ""),
    ]);
    let mut opts = p.options();
    opts.selection.patterns = vec!["ALPHA".into()];
    let names = |o: &RunOutput| -> Vec<String> {
        o.report.outcomes.iter().map(|o| o.name.clone()).collect()
    };
    let out = run(&opts, &FakeRunner::default(), &Quiet).unwrap();
    assert_eq!(names(&out), vec!["alpha-one", "alpha-two"]);
    opts.selection.shard = Some(Shard { k: 2, n: 2 });
    let out = run(&opts, &FakeRunner::default(), &Quiet).unwrap();
    assert_eq!(names(&out), vec!["alpha-two"]);
    opts.selection.patterns = vec!["gamma".into()];
    let errors = run(&opts, &FakeRunner::default(), &Quiet).err().unwrap();
    assert!(errors.0[0]
        .to_string()
        .contains("no scenario name matches -k gamma"));
}

#[test]
fn baselines_are_recorded_then_a_regression_fails_and_is_explained() {
    let p = Project::new(&[("holder", "held=1000000", ""), ("boom", "raise", "")]);
    let opts = p.options();
    let runner = FakeRunner::default();
    let updated = baselines::update(
        &opts.selection,
        opts.jobs,
        &opts.baselines,
        false,
        &runner,
        &Quiet,
    )
    .unwrap();
    let rec = updated.recording.unwrap();
    assert_eq!(rec.written, 1);
    assert!(matches!(rec.scenarios[0].1, Recorded::Written(_)));
    assert!(
        matches!(&rec.scenarios[1].1, Recorded::NotRecorded { why } if why.contains("KeyError"))
    );

    // Unchanged: nothing rewritten, the run passes the baseline check.
    let rec = baselines::update(
        &opts.selection,
        opts.jobs,
        &opts.baselines,
        false,
        &runner,
        &Quiet,
    )
    .unwrap()
    .recording
    .unwrap();
    assert_eq!((rec.written, rec.unchanged), (0, 1));

    // +30% held native memory regresses, and the failure is explained.
    p.rewrite(&[("holder", "held=1300000", "")]);
    let runner = FakeRunner::default();
    let out = run(&opts, &runner, &Quiet).unwrap();
    let o = &out.report.outcomes[0];
    assert_eq!(o.analysis.check, Check::Passed, "no leak");
    assert_eq!(o.status(), Check::Failed, "but a regression");
    let Some(BaselineResult::Compared { figures, .. }) = &o.baseline else {
        panic!("{:?}", o.baseline)
    };
    let held = figures
        .iter()
        .find(|f| f.figure == Figure::HeldNative)
        .unwrap();
    assert_eq!(held.status, Change::Regressed);
    assert_eq!(held.change_percent(), Some(30.0));
    assert_eq!(*runner.attributed.lock().unwrap(), vec!["holder"]);
}

#[test]
fn a_missing_baseline_fails_only_under_strict() {
    let p = Project::new(&[("holder", "held=1000", "")]);
    let mut opts = p.options();
    let out = run(&opts, &FakeRunner::default(), &Quiet).unwrap();
    assert!(matches!(
        out.report.outcomes[0].baseline,
        Some(BaselineResult::Missing { strict: false, .. })
    ));
    assert!(out.report.passed());
    opts.strict = true;
    let out = run(&opts, &FakeRunner::default(), &Quiet).unwrap();
    assert_eq!(out.report.outcomes[0].status(), Check::Failed);
}

#[test]
fn candidates_are_written_for_clean_runs_and_applied() {
    let p = Project::new(&[("holder", "held=5000", ""), ("boom", "raise", "")]);
    let mut opts = p.options();
    let dir = p.dir.path().join("candidates");
    opts.candidates = Some(dir.clone());
    let out = run(&opts, &FakeRunner::default(), &Quiet).unwrap();
    assert_eq!(out.candidates, Some((dir.clone(), 1)));
    let rec = baselines::apply(&dir, &opts.selection.paths, &opts.baselines, false).unwrap();
    assert_eq!(rec.written, 1);
    let shown = baselines::show(&opts.baselines, None).unwrap();
    assert_eq!(shown.files.len(), 1);
    assert_eq!(shown.files[0].1.scenario, "holder");
}

#[test]
fn attributions_run_jobs_at_a_time_and_each_lands_on_its_scenario() {
    let p = Project::new(&[
        ("a", "blocks+=1", ""),
        ("clean", "pass", ""),
        ("b", "native+=8", ""),
        ("c", "blocks+=2", ""),
    ]);
    let mut opts = p.options();
    opts.jobs = Some(3);
    let runner = FakeRunner::default();
    let out = run(&opts, &runner, &Quiet).unwrap();
    let mut attributed = runner.attributed.lock().unwrap().clone();
    attributed.sort();
    assert_eq!(attributed, vec!["a", "b", "c"]);
    for o in &out.report.outcomes {
        assert_eq!(o.attribution.is_some(), o.name != "clean", "{}", o.name);
    }
}

/// A project whose one scenario file is `yaml`.
fn project_with(yaml: &str) -> Project {
    let p = Project::new(&[]);
    std::fs::write(p.dir.path().join("scenarios/suite.yaml"), yaml).unwrap();
    p
}

#[test]
fn a_pytest_selection_becomes_one_scenario_per_test_named_by_node_id() {
    let p = project_with(
        "scenarios:\n  - pytest: t.py::test_a t.py::test_b[x] -p no:cacheprovider\n    iterations: 100\n  - name: again\n    pytest: t.py::test_a\n    iterations: 100\n",
    );
    let runner = FakeRunner::default();
    let out = run(&p.options(), &runner, &Quiet).unwrap();
    let names: Vec<&str> = out
        .report
        .outcomes
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["t.py::test_a", "t.py::test_b[x]", "again::t.py::test_a"]
    );
    assert_eq!(
        *runner.expanded.lock().unwrap(),
        ["t.py::test_a", "t.py::test_a"]
    );
    // Each test is measured, reported and located on its own.
    assert_eq!(runner.measured.lock().unwrap().len(), 15);
    assert_eq!(out.report.outcomes[1].file, PathBuf::from("t.py"));
    assert_eq!(out.report.outcomes[1].run_line, Some(7));
    let prepared = prepare(&p.options().selection, &runner).unwrap();
    let crate::scenario::Body::Test(t) = &prepared.plan.scenarios[0].scenario.body else {
        panic!("a test")
    };
    assert_eq!(t.options, ["-p", "no:cacheprovider"]);
    assert_eq!(t.invocation_dir, std::env::current_dir().unwrap());

    // -k and --shard see the tests, not the selection.
    let mut opts = p.options();
    opts.selection.patterns = vec!["TEST_B".into()];
    let out = run(&opts, &FakeRunner::default(), &Quiet).unwrap();
    assert_eq!(out.report.outcomes.len(), 1);
    assert_eq!(out.report.outcomes[0].name, "t.py::test_b[x]");
    opts.selection.patterns.clear();
    opts.selection.shard = Some(Shard { k: 2, n: 3 });
    let out = run(&opts, &FakeRunner::default(), &Quiet).unwrap();
    assert_eq!(out.report.outcomes[0].name, "t.py::test_b[x]");
}

#[test]
fn a_tests_memreg_marker_overrides_the_scenario_file() {
    let p = project_with(
        "scenarios:\n  - pytest: t.py::test_a t.py::test_b\n    iterations: 100\n    tolerance: 8 B\n    processes: 3\n",
    );
    let mut runner = FakeRunner::default();
    runner.markers.insert(
        "t.py::test_b".into(),
        serde_json::json!({"iterations": 500, "expect": "leak", "confirm": {"iterations": 500}}),
    );
    let prepared = prepare(&p.options().selection, &runner).unwrap();
    let s: Vec<&Scenario> = prepared.plan.each_scenario();
    assert_eq!(
        (
            s[0].iterations,
            s[0].expect,
            s[0].processes,
            s[0].tolerance.0
        ),
        (100, crate::scenario::Expect::Pass, 3, 8)
    );
    assert_eq!(
        (
            s[1].iterations,
            s[1].expect,
            s[1].processes,
            s[1].tolerance.0
        ),
        (500, crate::scenario::Expect::Leak, 3, 8),
        "the marker's settings win; the file's fill in the rest"
    );
    assert_eq!(s[1].confirm.iterations, 500);

    // A bad marker setting is an error at the test's file:line, before anything runs.
    runner.markers.insert(
        "t.py::test_a".into(),
        serde_json::json!({"iterations": 500, "confirm": {"iterations": 100}}),
    );
    runner
        .markers
        .insert("t.py::test_b".into(), serde_json::json!({"env": {"A": 1}}));
    let errors = run(&p.options(), &runner, &Quiet).err().unwrap();
    assert!(errors.before_running());
    let text: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
    assert_eq!(text.len(), 2, "{text:?}");
    assert!(
        text[0].starts_with("t.py:7:1: scenario `t.py::test_a`: `memreg` marker: `confirm.iterations` (100) must be at least `iterations` (500)"),
        "{text:?}"
    );
    assert!(text[1].contains("`env` cannot be set per test"), "{text:?}");
    assert!(runner.measured.lock().unwrap().is_empty());
}

#[test]
fn pytest_that_cannot_collect_stops_the_run_before_any_process() {
    let p = project_with("pytest: tests/ -m memleak\n");
    let runner = FakeRunner::default();
    let errors = run(&p.options(), &runner, &Quiet).err().unwrap();
    assert!(errors.before_running());
    let text = errors.0[0].to_string();
    assert!(
        text.contains("suite.yaml:1: scenario `suite`: pytest is not installed for"),
        "{text}"
    );
    assert!(runner.measured.lock().unwrap().is_empty());
}

#[test]
fn tests_baselines_are_applied_from_candidates_and_pruned_when_the_test_is_gone() {
    let p = project_with("pytest: t.py::test_a t.py::test_b[held=5000]\niterations: 100\n");
    let runner = FakeRunner::default();
    let mut opts = p.options();
    let dir = p.dir.path().join("candidates");
    opts.candidates = Some(dir.clone());
    let out = run(&opts, &runner, &Quiet).unwrap();
    assert_eq!(out.candidates, Some((dir.clone(), 2)));
    // Applied without collecting the tests: nothing runs.
    let rec = baselines::apply(&dir, &opts.selection.paths, &opts.baselines, false).unwrap();
    assert_eq!(rec.written, 2);
    let prune = |p: &Project| {
        let opts = p.options();
        let pruned = baselines::prune(
            &opts.selection.paths,
            opts.selection.python.as_deref(),
            &opts.baselines,
            true,
            &FakeRunner::default(),
        )
        .unwrap();
        pruned
            .stale
            .into_iter()
            .map(|(_, name)| name)
            .collect::<Vec<_>>()
    };
    assert!(prune(&p).is_empty(), "collected tests keep their baselines");
    std::fs::write(
        p.dir.path().join("scenarios/suite.yaml"),
        "pytest: t.py::test_a\niterations: 100\n",
    )
    .unwrap();
    assert_eq!(prune(&p), ["t.py::test_b[held=5000]"]);
}

#[test]
fn each_attribution_traces_the_iterations_its_measured_growth_needs() {
    // 256 blocks (or 64 KiB of the C heap) at the measured growth, within 16 and
    // the scenario's 100 iterations (src/probe/window.rs).
    let p = Project::new(&[
        ("large", "blocks+=32", ""),
        ("medium", "blocks+=4", ""),
        ("native", "native+=8", ""),
    ]);
    let runner = FakeRunner::default();
    let out = run(&p.options(), &runner, &Quiet).unwrap();
    let traced: Vec<(&str, u64)> = out
        .report
        .outcomes
        .iter()
        .map(|o| {
            let a = o.attribution.as_ref().unwrap().as_ref().unwrap();
            (o.name.as_str(), a.iterations)
        })
        .collect();
    assert_eq!(traced, vec![("large", 16), ("medium", 64), ("native", 100)]);
}
