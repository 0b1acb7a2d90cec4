//! The broker addresses from `MQTT_URL`: one URL or a comma-separated list of them, each
//! `mqtt://` or `mqtts://` with host, port and percent-decoded credentials, with the password kept
//! out of every message.

use std::fmt;

use percent_encoding::percent_decode_str;

use super::env::ENV_URL;
use crate::error::ConfigError;

/// A password that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// The password itself, for handing to the MQTT client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Where and how to connect: parsed from `mqtt://[user[:pass]@]host[:port]` or `mqtts://…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddress {
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    /// TCP port (1883 for `mqtt`, 8883 for `mqtts` when not given).
    pub port: u16,
    /// Whether to use TLS.
    pub tls: bool,
    /// Percent-decoded user name.
    pub username: Option<String>,
    /// Percent-decoded password.
    pub password: Option<Password>,
}

impl BrokerAddress {
    /// Parses a broker URL.
    ///
    /// ```
    /// # use tars_mqtt::config::BrokerAddress;
    /// let a = BrokerAddress::parse("mqtt://svc%40tars:p%40ss%3Aw0rd@broker:1884").unwrap();
    /// assert_eq!(a.username.as_deref(), Some("svc@tars"));
    /// assert_eq!(a.password.unwrap().expose(), "p@ss:w0rd");
    /// assert_eq!((a.host.as_str(), a.port, a.tls), ("broker", 1884, false));
    /// ```
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let invalid = |rule: &str| ConfigError::Invalid {
            var: ENV_URL,
            rule: rule.to_owned(),
            value: redact_url(url),
        };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtt://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, rest)
        } else {
            return Err(invalid("the URL must start with `mqtt://` or `mqtts://`"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(invalid("the URL must not have a path, query or fragment"));
        }
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let decode = |s: &str| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| invalid("credentials must be valid percent-encoded UTF-8"))
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, pass) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                let pass = pass.map(decode).transpose()?.map(Password);
                (Some(decode(user)?), pass)
            }
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| {
            invalid("the port must be a number from 1 to 65535 and an IPv6 host needs brackets")
        })?;
        Ok(Self {
            host: if host.is_empty() {
                "localhost".to_owned()
            } else {
                host.to_owned()
            },
            port: port.unwrap_or(if tls { 8883 } else { 1883 }),
            tls,
            username,
            password,
        })
    }

    /// Parses `MQTT_URL`: one broker URL, or several separated by commas (spaces around them
    /// are ignored), tried in that order. A comma inside credentials must be written `%2C`.
    ///
    /// ```
    /// # use tars_mqtt::config::BrokerAddress;
    /// let list = BrokerAddress::parse_list("mqtt://10.0.0.1:1883, mqtt://10.0.0.2:1883").unwrap();
    /// assert_eq!(list.len(), 2);
    /// assert_eq!(list[1].to_string(), "mqtt://10.0.0.2:1883");
    /// assert!(BrokerAddress::parse_list("mqtt://a:1883,,mqtt://b:1883").is_err());
    /// ```
    pub fn parse_list(urls: &str) -> Result<Vec<Self>, ConfigError> {
        urls.split(',')
            .map(|url| match url.trim() {
                "" => Err(ConfigError::Invalid {
                    var: ENV_URL,
                    rule: "a list of URLs must not have an empty entry".to_owned(),
                    value: redact_url(urls),
                }),
                url => Self::parse(url),
            })
            .collect()
    }
}

/// `mqtt://host:port` (or `mqtts://`), without the credentials: how logs and the readiness
/// state name an endpoint.
impl fmt::Display for BrokerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

fn split_host_port(hostport: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p > 0)?),
    };
    if host.contains(':') && !hostport.starts_with('[') {
        return None;
    }
    Some((host, port))
}

/// `mqtt://user:secret@host` → `mqtt://user:***@host`, for error messages and logs; each URL of a
/// comma-separated list.
pub(crate) fn redact_url(urls: &str) -> String {
    urls.split(',')
        .map(redact_one)
        .collect::<Vec<_>>()
        .join(",")
}

fn redact_one(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((info, host)) => match info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}
