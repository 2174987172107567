//! service-a: the medical and security microservices, described by
//! `config/service-a.json` (compiled in; `APP_CONFIG` names another file).

fn main() -> std::process::ExitCode {
    service_core::run(service_core::EmbeddedConfig {
        file: "config/service-a.json",
        json: include_str!("../../config/service-a.json"),
    })
}
