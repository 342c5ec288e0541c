//! Smoke run of the benchmark driver `bench/run`, with 3 containers per phase, so that
//! `make bench` keeps working. The figures of so small a run mean nothing; the test checks
//! that each phase produced them and that every container was configured.

mod docker_support;

use std::path::Path;
use std::process::Command;

use docker_support::*;

/// Builds the static release binary that the driver installs as a plugin.
fn build_release_binary(root: &Path) {
    let output = Command::new("make")
        .arg("-C")
        .arg(root)
        .arg("build")
        .output()
        .expect("failed to run make");
    assert!(
        output.status.success(),
        "make build failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn bench_driver_smoke_run() {
    if !docker_available("bench_driver_smoke_run") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    build_release_binary(root);
    ensure_test_image();
    let dir = tempdir("bench");
    let page = dir.join("BENCHMARKS.md");
    let figures = dir.join("bench.json");

    let output = Command::new("python3")
        .arg(root.join("bench/run"))
        .arg("--smoke")
        .arg("--output")
        .arg(&page)
        .arg("--json")
        .arg(&figures)
        .output()
        .expect("failed to start python3 bench/run");
    assert!(
        output.status.success(),
        "bench/run --smoke failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    let text = std::fs::read_to_string(&figures).expect("bench/run wrote no JSON figures");
    let results: serde_json::Value = serde_json::from_str(&text).unwrap();
    for tool in ["dehandler", "baseline"] {
        let sequential = &results[tool]["sequential"];
        assert_eq!(sequential["count"], 3, "{tool} sequential: {sequential}");
        assert!(
            sequential["median_ms"].as_f64().is_some_and(|ms| ms > 0.0),
            "{tool} sequential: {sequential}"
        );
        assert_eq!(
            sequential["missing_changes"],
            serde_json::json!([]),
            "{tool} sequential: {sequential}"
        );

        let burst = &results[tool]["burst"];
        assert_eq!(burst["configured"], 3, "{tool} burst: {burst}");
        assert!(
            burst["last_start_to_last_done_ms"].is_number(),
            "{tool} burst: {burst}"
        );
        assert_eq!(
            burst["missing_changes"],
            serde_json::json!([]),
            "{tool} burst: {burst}"
        );
        assert_eq!(burst["host_routes_removed"], true, "{tool} burst: {burst}");
    }
    // dehandler's journal splits each start by the times of its begin line. The parts of one
    // start add up to its latency, so the parts' minimums add up to no more than the smallest
    // latency and their maximums to no less than the largest.
    let sequential = &results["dehandler"]["sequential"];
    let parts = ["to_notice", "inspecting", "preparing", "applying"];
    let sum_of_parts = |statistic: &str| -> f64 {
        parts
            .iter()
            .map(|part| sequential[part][statistic].as_f64().unwrap_or(-1.0))
            .sum()
    };
    assert!(
        parts.iter().all(|part| sequential[part]["min_ms"]
            .as_f64()
            .is_some_and(|ms| ms > 0.0)),
        "dehandler sequential: {sequential}"
    );
    let (min, max) = (
        sequential["min_ms"].as_f64().unwrap(),
        sequential["max_ms"].as_f64().unwrap(),
    );
    assert!(
        sum_of_parts("min_ms") <= min + 1e-6,
        "dehandler sequential: {sequential}"
    );
    assert!(
        sum_of_parts("max_ms") >= max - 1e-6,
        "dehandler sequential: {sequential}"
    );
    // The cgroup counter has nanosecond resolution, so even 3 starts register; clock ticks,
    // the fallback, may not.
    let burst = &results["dehandler"]["burst"];
    if burst["cpu_source"] == "cgroup" {
        assert!(
            burst["cpu_ms_per_container"]
                .as_f64()
                .is_some_and(|ms| ms > 0.0),
            "dehandler burst: {burst}"
        );
    } else {
        assert_eq!(burst["cpu_source"], "ticks", "dehandler burst: {burst}");
    }
    let probe = &results["inspect"]["sequential"];
    assert_eq!(probe["count"], 3, "Engine API probe: {probe}");
    assert!(
        probe["median_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "Engine API probe: {probe}"
    );
    let footprint = &results["footprint"];
    assert!(
        footprint["rss_kib_idle"]
            .as_u64()
            .is_some_and(|kib| kib > 0),
        "footprint: {footprint}"
    );

    let page = std::fs::read_to_string(&page).expect("bench/run wrote no page");
    assert!(page.contains("| sequential latency, median |"), "{page}");
    assert!(page.contains("| Engine API floor:"), "{page}");
    std::fs::remove_dir_all(&dir).unwrap();
}
