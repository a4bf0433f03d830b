//! `osu_put_latency` over rsm, run under `rsmrun -n 2` (method: `rsm_benches::one_sided`).

fn main() -> std::process::ExitCode {
    rsm_benches::one_sided::main(rsm_benches::osu::Benchmark::PutLatency)
}
