//! service-b: the finance and payment microservices, described by
//! `config/service-b.json` (compiled in; `APP_CONFIG` names another file).

fn main() -> std::process::ExitCode {
    service_core::run(service_core::EmbeddedConfig {
        file: "config/service-b.json",
        json: include_str!("../../config/service-b.json"),
    })
}
