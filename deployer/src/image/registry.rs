//! Where an app's image is pushed, and with which credentials.
//!
//! By default that is the app's ECR repository: `DescribeRepositories`
//! gives its URI (and so the registry host), `GetAuthorizationToken` a
//! short-lived `AWS:<password>` pair for that registry. `--registry HOST`
//! replaces all of it, for tests and mirrors: no AWS call, and the
//! credentials the docker CLI would use for that host (`docker login`,
//! credential helpers), or none.

use aws_config::SdkConfig;
use base64::Engine;
use bollard::auth::DockerCredentials;

use super::reference::ImageRef;
use crate::exit::{Code, Failure};

/// A repository to push to.
#[derive(Clone)]
pub struct Destination {
    /// `host[:port]/path/name`, without tag.
    pub repository: String,
    /// Credentials for the registry; `None` pushes anonymously.
    pub credentials: Option<DockerCredentials>,
}

impl std::fmt::Debug for Destination {
    // Never print the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("repository", &self.repository)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|c| c.username.clone()),
            )
            .finish()
    }
}

impl Destination {
    /// The registry host (`host[:port]`).
    pub fn host(&self) -> &str {
        self.repository
            .split_once('/')
            .map_or(self.repository.as_str(), |(host, _)| host)
    }
}

/// Which registry an app's image goes to.
#[derive(Debug, Clone, Copy)]
pub enum Registry<'a> {
    /// The app's ECR repository, in the account and region `aws` names.
    Ecr(&'a SdkConfig),
    /// `--registry`: a registry host, with an optional path prefix.
    Other(&'a str),
}

impl Registry<'_> {
    /// Where `repository` (the app's repository name) is pushed.
    pub async fn destination(&self, repository: &str) -> anyhow::Result<Destination> {
        match self {
            Registry::Ecr(aws) => ecr(repository, aws).await,
            Registry::Other(host) => other_registry(host, repository).await,
        }
    }
}

/// `repository` in the ECR registry of the configured account and region.
pub async fn ecr(repository: &str, aws: &SdkConfig) -> anyhow::Result<Destination> {
    let ecr = aws_sdk_ecr::Client::new(aws);
    let region = aws
        .region()
        .map_or("(no region)".to_owned(), |r| r.to_string());
    let described = ecr
        .describe_repositories()
        .repository_names(repository)
        .send()
        .await;
    let found = match described {
        Ok(out) => out.repositories().first().cloned(),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_repository_not_found_exception()) =>
        {
            None
        }
        Err(err) => {
            return Err(anyhow::Error::new(err).context(format!(
                "ECR DescribeRepositories for `{repository}` in {region} failed (check the AWS credentials and region)"
            )))
        }
    };
    let Some(found) = found else {
        return Err(Failure::preflight(format!(
            "ECR repository `{repository}` does not exist in {region}: create it (infra/ creates one per app), \
             set `deploy.repository` in the app's JSON, or push elsewhere with --registry"
        ))
        .into());
    };
    let uri = found.repository_uri().unwrap_or_default();
    let image = ImageRef::parse(uri, "ECR repositoryUri")?;

    // One token serves every registry the identity may use.
    let login = ecr_login(&ecr, &region).await?;
    let (username, password) = (login.username, login.password);
    let host = image.reference.registry().to_owned();
    // The proxy endpoint is the address the token is for; the repository
    // URI names the same registry without a scheme.
    let server = login
        .proxy_endpoint
        .unwrap_or_else(|| format!("https://{host}"));
    Ok(Destination {
        repository: uri.to_owned(),
        credentials: Some(DockerCredentials {
            username: Some(username),
            password: Some(password),
            serveraddress: Some(server),
            ..Default::default()
        }),
    })
}

/// What ECR GetAuthorizationToken hands out: the registry login and the
/// address it is for.
pub struct EcrLogin {
    pub username: String,
    pub password: String,
    /// `https://<registry host>`, when ECR names it.
    pub proxy_endpoint: Option<String>,
}

/// Logs in to ECR with the identity's credentials, in `region` (named in
/// errors only). One token serves every registry the identity may use.
pub async fn ecr_login(ecr: &aws_sdk_ecr::Client, region: &str) -> anyhow::Result<EcrLogin> {
    let token = ecr.get_authorization_token().send().await.map_err(|err| {
        anyhow::Error::new(err).context(format!(
            "ECR GetAuthorizationToken in {region} failed (the credentials need ecr:GetAuthorizationToken)"
        ))
    })?;
    let data = token.authorization_data().first().ok_or_else(|| {
        Failure::new(
            Code::Backend,
            "ECR GetAuthorizationToken returned no authorization data",
        )
    })?;
    let (username, password) = decode_token(data.authorization_token().unwrap_or_default())?;
    Ok(EcrLogin {
        username,
        password,
        proxy_endpoint: data.proxy_endpoint().map(str::to_owned),
    })
}

/// Decodes an ECR authorization token: base64 of `user:password`.
pub fn decode_token(token: &str) -> Result<(String, String), Failure> {
    let bad = |why: &str| {
        Failure::new(
            Code::Backend,
            format!(
                "ECR returned an authorization token that is not base64 `user:password` ({why})"
            ),
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| bad("not base64"))?;
    let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
    let (user, password) = text.split_once(':').ok_or_else(|| bad("no `:`"))?;
    if user.is_empty() || password.is_empty() {
        return Err(bad("empty user or password"));
    }
    Ok((user.to_owned(), password.to_owned()))
}

/// `repository` under `registry` (`host[:port]` with an optional path
/// prefix), with the docker CLI's credentials for that host if any.
pub async fn other_registry(registry: &str, repository: &str) -> anyhow::Result<Destination> {
    let registry = registry.trim_end_matches('/');
    let uri = format!("{registry}/{repository}");
    let image = ImageRef::parse(&uri, "--registry")?;
    if image.reference.registry() != registry.split('/').next().unwrap_or_default() {
        return Err(Failure::bad_input(format!(
            "--registry {registry}: not a registry host (such as `127.0.0.1:5050` or `registry.example.com/team`)"
        ))
        .into());
    }
    let host = image.reference.registry().to_owned();
    let lookup = host.clone();
    let credentials = tokio::task::spawn_blocking(move || docker_config_credentials(&lookup))
        .await
        .map_err(|err| anyhow::anyhow!("credential lookup stopped: {err}"))??;
    Ok(Destination {
        repository: uri,
        credentials,
    })
}

/// The credentials `docker login` stored for `host` (the config file's
/// `auths`, `credHelpers` or `credsStore`); `None` when there are none.
fn docker_config_credentials(host: &str) -> Result<Option<DockerCredentials>, Failure> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    match docker_credential::get_credential(host) {
        Ok(DockerCredential::UsernamePassword(username, password)) => Ok(Some(DockerCredentials {
            username: Some(username),
            password: Some(password),
            serveraddress: Some(host.to_owned()),
            ..Default::default()
        })),
        Ok(DockerCredential::IdentityToken(token)) => Ok(Some(DockerCredentials {
            identitytoken: Some(token),
            serveraddress: Some(host.to_owned()),
            ..Default::default()
        })),
        // No config file, or nothing in it for this host: push anonymously.
        Err(E::ConfigNotFound | E::ConfigReadError | E::NoCredentialConfigured) => {
            tracing::debug!("no docker credentials for {host}; pushing anonymously");
            Ok(None)
        }
        Err(err) => Err(Failure::new(
            Code::Backend,
            format!("cannot read the docker credentials for {host} (DOCKER_CONFIG / ~/.docker/config.json): {err}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_decode_to_user_and_password() {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:pa:ss");
        assert_eq!(
            decode_token(&token).expect("decodes"),
            ("AWS".to_owned(), "pa:ss".to_owned())
        );
        for bad in ["%%%", "QVdT", ""] {
            let err = decode_token(bad).expect_err("refused");
            assert_eq!(err.code, Code::Backend);
            assert!(err.message.contains("user:password"), "{}", err.message);
        }
    }

    #[tokio::test]
    async fn another_registry_is_used_as_given() {
        let dest = other_registry("127.0.0.1:5050/", "service-b")
            .await
            .expect("resolves");
        assert_eq!(dest.repository, "127.0.0.1:5050/service-b");
        assert_eq!(dest.host(), "127.0.0.1:5050");
        let dest = other_registry("registry.example.com/team", "service-a")
            .await
            .expect("resolves");
        assert_eq!(dest.host(), "registry.example.com");
        assert_eq!(dest.repository, "registry.example.com/team/service-a");
    }

    #[tokio::test]
    async fn a_registry_that_is_not_a_host_is_refused() {
        let err = other_registry("team", "service-a")
            .await
            .expect_err("refused");
        assert_eq!(crate::exit::code_of(&err), Code::BadInput);
        assert!(format!("{err:#}").contains("--registry team"), "{err:#}");
    }
}
