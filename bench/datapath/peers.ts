// Configurations of the peers the datapath benchmark runs weft against: the app (nginx returning a
// fixed body), an nginx mTLS pair and an haproxy mTLS pair. Each pair mirrors weft's: a client-side
// proxy on plain HTTP/1.1 that opens mutual TLS with SVIDs to a server-side proxy, which forwards to
// the app; keep-alive upstreams on both hops; one worker (thread) per proxy, like a weft sidecar.
//
// Neither nginx nor haproxy can check a URI SAN, and minted SVIDs have an empty subject and no DNS
// SAN, so their client sides verify the server's chain (haproxy) or nothing (nginx: its name check
// cannot pass); the server sides verify the client's chain. Verification happens once per
// connection, and connections are kept alive, so this does not move per-request figures.

export interface PkiPaths {
  bundle: string;
  clientCert: string;
  clientKey: string;
  /** Certificate chain and key in one file (haproxy's `crt`). */
  clientCombined: string;
  serverCert: string;
  serverKey: string;
  serverCombined: string;
}

const NGINX_COMMON = (dir: string): string => `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
`;

/** The app: a fixed 19-byte answer, so the proxies are what is measured. */
export function appNginx(dir: string, port: number): string {
  return `${NGINX_COMMON(dir)}
  server {
    listen 127.0.0.1:${port} reuseport;
    location / { default_type text/plain; return 200 "hello from the app\\n"; }
  }
}
`;
}

export function nginxServerSide(dir: string, port: number, appPort: number, pki: PkiPaths): string {
  return `${NGINX_COMMON(dir)}
  upstream app { server 127.0.0.1:${appPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${pki.serverCert};
    ssl_certificate_key ${pki.serverKey};
    ssl_client_certificate ${pki.bundle};
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-Client-Cert "Hash=$ssl_client_fingerprint;Subject=$ssl_client_s_dn";
    }
  }
}
`;
}

export function nginxClientSide(dir: string, port: number, serverPort: number, pki: PkiPaths): string {
  return `${NGINX_COMMON(dir)}
  upstream mesh { server 127.0.0.1:${serverPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass https://mesh;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_certificate ${pki.clientCert};
      proxy_ssl_certificate_key ${pki.clientKey};
      proxy_ssl_trusted_certificate ${pki.bundle};
      proxy_ssl_verify off;
      proxy_ssl_session_reuse on;
    }
  }
}
`;
}

/** The nginx client side for HTTP/2 from the app: h2c with prior knowledge in, HTTP/1.1 over mTLS on (proxy_pass speaks no HTTP/2 upstream). */
export function nginxH2ClientSide(dir: string, port: number, serverPort: number, pki: PkiPaths): string {
  return nginxClientSide(dir, port, serverPort, pki).replace(`listen 127.0.0.1:${port};`, `listen 127.0.0.1:${port} http2;\n    http2_max_requests 1000000;`);
}

/** The nginx gRPC pair: h2c in on the client side, grpc_pass over mTLS (HTTP/2) to the server side, grpc_pass to the app. */
export function nginxGrpcServerSide(dir: string, port: number, appPort: number, pki: PkiPaths): string {
  return `${NGINX_COMMON(dir)}
  upstream app { server 127.0.0.1:${appPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port} ssl http2;
    http2_max_requests 1000000;
    ssl_certificate ${pki.serverCert};
    ssl_certificate_key ${pki.serverKey};
    ssl_client_certificate ${pki.bundle};
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { grpc_pass grpc://app; grpc_set_header X-Forwarded-Client-Cert "Hash=$ssl_client_fingerprint;Subject=$ssl_client_s_dn"; }
  }
}
`;
}

export function nginxGrpcClientSide(dir: string, port: number, serverPort: number, pki: PkiPaths): string {
  return `${NGINX_COMMON(dir)}
  upstream mesh { server 127.0.0.1:${serverPort}; keepalive 128; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port} http2;
    http2_max_requests 1000000;
    location / {
      grpc_pass grpcs://mesh;
      grpc_ssl_certificate ${pki.clientCert};
      grpc_ssl_certificate_key ${pki.clientKey};
      grpc_ssl_trusted_certificate ${pki.bundle};
      grpc_ssl_verify off;
      grpc_ssl_session_reuse on;
    }
  }
}
`;
}

const HAPROXY_COMMON = `
global
  nbthread 1
  maxconn 8192
  tune.ssl.default-dh-param 2048
defaults
  mode http
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
  option http-keep-alive
  http-reuse always
`;

export function haproxyServerSide(port: number, appPort: number, pki: PkiPaths): string {
  return `${HAPROXY_COMMON}
frontend mtls
  bind 127.0.0.1:${port} ssl crt ${pki.serverCombined} ca-file ${pki.bundle} verify required
  http-request set-header X-Forwarded-Client-Cert "Hash=%[ssl_c_sha1,hex];Subject=%{+Q}[ssl_c_s_dn]"
  default_backend app
backend app
  server app 127.0.0.1:${appPort}
`;
}

export function haproxyClientSide(port: number, serverPort: number, pki: PkiPaths): string {
  return `${HAPROXY_COMMON}
frontend plain
  bind 127.0.0.1:${port}
  default_backend mesh
backend mesh
  server peer 127.0.0.1:${serverPort} ssl crt ${pki.clientCombined} ca-file ${pki.bundle} verify required
`;
}
