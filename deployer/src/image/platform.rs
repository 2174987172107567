//! The platform of an app's image: its JSON's `cpu_architecture`, which is
//! also the task definition's `runtimePlatform.cpuArchitecture` (infra/).
//!
//! `deployer build` asks the engine for that platform (`linux/amd64` or
//! `linux/arm64`) and checks the image it gets; a deploy of a given image
//! first reads the platforms its registry publishes it for, and refuses an
//! image that would fail on the tasks with "exec format error".

use app_config::CpuArchitecture;
use aws_config::SdkConfig;
use bollard::auth::DockerCredentials;

use super::reference::ImageRef;
use super::registry;
use crate::exit::{Code, Failure};

/// One platform an image is published for (`os`, `architecture`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`...
    pub os: String,
    /// OCI architecture: `amd64`, `arm64`...
    pub architecture: String,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)
    }
}

fn matches(platform: &Platform, wanted: CpuArchitecture) -> bool {
    platform.os == "linux" && platform.architecture == wanted.oci_architecture()
}

/// The image the engine built is for the platform the build asked for.
/// An engine that cannot build for it (no emulation, a base image without
/// that platform) may fall back to its own.
pub fn check_built(
    app: &str,
    image: &str,
    wanted: CpuArchitecture,
    os: Option<&str>,
    architecture: Option<&str>,
) -> Result<(), Failure> {
    let built = Platform {
        os: os.unwrap_or_default().to_owned(),
        architecture: architecture.unwrap_or_default().to_owned(),
    };
    if matches(&built, wanted) {
        return Ok(());
    }
    Err(Failure::new(
        Code::Backend,
        format!(
            "{app}: the engine built {image} for {built}, not {} (cpu_architecture {wanted} in the app's JSON): \
             build on a {} engine, or one that can emulate it",
            wanted.platform(),
            wanted.platform()
        ),
    ))
}

/// A published image runs on `wanted`: one of its platforms is
/// `linux/<wanted>`. `config_file` names the JSON for the message.
pub fn check_published(
    uri: &str,
    wanted: CpuArchitecture,
    platforms: &[Platform],
    config_file: &str,
) -> Result<(), Failure> {
    if platforms.iter().any(|p| matches(p, wanted)) {
        return Ok(());
    }
    let found = if platforms.is_empty() {
        "no platform".to_owned()
    } else {
        platforms
            .iter()
            .map(Platform::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(Failure::preflight(format!(
        "image {uri} is published for {found}, and the app runs on {} (`cpu_architecture` {wanted} in {config_file}): \
         its tasks would fail with \"exec format error\"; build it with `deployer build`, or fix `cpu_architecture`",
        wanted.platform()
    )))
}

/// The platforms the registry publishes `uri` for, read through the Docker
/// engine (the manifest, or for a single-platform image its config). ECR
/// images are read with a token from `GetAuthorizationToken`.
pub async fn published(uri: &str, aws: &SdkConfig) -> anyhow::Result<Vec<Platform>> {
    let image = ImageRef::parse(uri, "image")?;
    let credentials = if image.ecr().is_some() {
        Some(ecr_credentials(&image, aws).await?)
    } else {
        None
    };
    let docker = crate::docker::connect().await?;
    let info = docker
        .inspect_registry_image(uri, credentials)
        .await
        .map_err(|err| {
            anyhow::Error::new(err).context(format!("cannot read the platforms of {uri}"))
        })?;
    Ok(info
        .platforms
        .into_iter()
        .map(|p| Platform {
            os: p.os.unwrap_or_default(),
            architecture: p.architecture.unwrap_or_default(),
        })
        .collect())
}

async fn ecr_credentials(image: &ImageRef, aws: &SdkConfig) -> anyhow::Result<DockerCredentials> {
    let ecr = aws_sdk_ecr::Client::new(aws);
    let region = aws
        .region()
        .map_or("(no region)".to_owned(), |r| r.to_string());
    let login = registry::ecr_login(&ecr, &region).await?;
    let (username, password) = (login.username, login.password);
    Ok(DockerCredentials {
        username: Some(username),
        password: Some(password),
        serveraddress: Some(format!("https://{}", image.reference.registry())),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(os: &str, architecture: &str) -> Platform {
        Platform {
            os: os.into(),
            architecture: architecture.into(),
        }
    }

    #[test]
    fn each_architecture_asks_for_its_oci_platform() {
        assert_eq!(CpuArchitecture::X86_64.platform(), "linux/amd64");
        assert_eq!(CpuArchitecture::Arm64.platform(), "linux/arm64");
        assert_eq!(CpuArchitecture::default(), CpuArchitecture::X86_64);
    }

    #[test]
    fn a_build_for_another_platform_is_refused() {
        check_built(
            "a",
            "a:v1",
            CpuArchitecture::X86_64,
            Some("linux"),
            Some("amd64"),
        )
        .expect("amd64 for X86_64");
        check_built(
            "a",
            "a:v1",
            CpuArchitecture::Arm64,
            Some("linux"),
            Some("arm64"),
        )
        .expect("arm64 for ARM64");
        let err = check_built(
            "a",
            "a:v1",
            CpuArchitecture::Arm64,
            Some("linux"),
            Some("amd64"),
        )
        .expect_err("amd64 for ARM64");
        assert_eq!(err.code, Code::Backend);
        assert!(
            err.message.contains("linux/amd64, not linux/arm64"),
            "{}",
            err.message
        );
        assert!(check_built("a", "a:v1", CpuArchitecture::X86_64, None, None).is_err());
    }

    #[test]
    fn a_published_image_must_include_the_apps_platform() {
        let both = [platform("linux", "amd64"), platform("linux", "arm64")];
        check_published("r/a:v1", CpuArchitecture::Arm64, &both, "config/a.json").expect("multi");
        let err = check_published(
            "r/a:v1",
            CpuArchitecture::Arm64,
            &[platform("linux", "amd64")],
            "config/a.json",
        )
        .expect_err("amd64 only");
        assert_eq!(err.code, Code::Preflight);
        assert!(
            err.message.contains("published for linux/amd64"),
            "{}",
            err.message
        );
        assert!(err.message.contains("config/a.json"), "{}", err.message);
        let err = check_published("r/a:v1", CpuArchitecture::X86_64, &[], "config/a.json")
            .expect_err("nothing known");
        assert!(err.message.contains("no platform"), "{}", err.message);
        assert!(check_published(
            "r/a:v1",
            CpuArchitecture::X86_64,
            &[platform("windows", "amd64")],
            "config/a.json"
        )
        .is_err());
    }
}
