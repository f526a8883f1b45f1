#!/usr/bin/env bash
# Install Failcast in scale-out mode on a fresh Ubuntu 22.04/24.04 VM: PostgreSQL, Redis,
# the API (2 uvicorn workers), 2 workers and the scheduler under systemd, nginx with a Let's
# Encrypt certificate. Run as root from a checkout of the repository:
#
#   sudo FAILCAST_DOMAIN=failcast.example.com CERTBOT_EMAIL=ops@example.com deploy/deploy.sh
#
# Re-running it upgrades the code and the schema and restarts the services; secrets already
# written to /etc/failcast/failcast.env are kept.
set -euo pipefail

: "${FAILCAST_DOMAIN:?set FAILCAST_DOMAIN to the public host name}"
: "${CERTBOT_EMAIL:?set CERTBOT_EMAIL for certificate expiry notices}"
WORKERS="${FAILCAST_WORKERS:-2}"
SRC="$(cd "$(dirname "$0")/.." && pwd)"
APP=/opt/failcast
ENV_FILE=/etc/failcast/failcast.env

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
    python3 python3-venv python3-pip postgresql redis-server nginx certbot rsync gettext-base

id failcast >/dev/null 2>&1 || useradd --system --home /var/lib/failcast --shell /usr/sbin/nologin failcast
install -d -o failcast -g failcast /var/lib/failcast
install -d -m 750 -o root -g failcast /etc/failcast

# Redis keeps the queue and the scheduler lease: persist them, listen on loopback only.
sed -i 's/^#\? *appendonly .*/appendonly yes/' /etc/redis/redis.conf
sed -i 's/^bind .*/bind 127.0.0.1 ::1/' /etc/redis/redis.conf
systemctl enable --now redis-server
systemctl restart redis-server

# PostgreSQL: a role and a database, password generated once.
if [ ! -f "$ENV_FILE" ]; then
    DB_PASSWORD="$(openssl rand -hex 24)"
    SECRET_KEY="$(openssl rand -hex 32)"
    sudo -u postgres psql -v ON_ERROR_STOP=1 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'failcast') THEN
    CREATE ROLE failcast LOGIN PASSWORD '${DB_PASSWORD}';
  ELSE
    ALTER ROLE failcast PASSWORD '${DB_PASSWORD}';
  END IF;
END \$\$;
SQL
    sudo -u postgres psql -tc "SELECT 1 FROM pg_database WHERE datname = 'failcast'" | grep -q 1 \
        || sudo -u postgres createdb -O failcast failcast
    cat >"$ENV_FILE" <<ENV
FAILCAST_ENV=production
FAILCAST_SECRET_KEY=${SECRET_KEY}
FAILCAST_DATABASE_URL=postgresql://failcast:${DB_PASSWORD}@127.0.0.1:5432/failcast
FAILCAST_REDIS_URL=redis://127.0.0.1:6379/0
FAILCAST_PUBLIC_URL=https://${FAILCAST_DOMAIN}
FAILCAST_CORS_ORIGINS=https://${FAILCAST_DOMAIN}
FAILCAST_DATA_DIR=/var/lib/failcast
ENV
    chmod 640 "$ENV_FILE"
    chgrp failcast "$ENV_FILE"
fi

# The code, in its own virtual environment.
rsync -a --delete --exclude .venv --exclude .git --exclude failcast-data "$SRC/" "$APP/src-tree/"
python3 -m venv "$APP/venv"
"$APP/venv/bin/pip" install --upgrade pip
"$APP/venv/bin/pip" install "$APP/src-tree"
chown -R root:root "$APP"

# Schema first, once, before any replica starts.
sudo -u failcast bash -c "set -a; . $ENV_FILE; $APP/venv/bin/failcast db upgrade"

install -m 644 "$SRC"/deploy/systemd/*.service /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now failcast-api failcast-scheduler
for n in $(seq 1 "$WORKERS"); do systemctl enable --now "failcast-worker@$n"; done
systemctl restart failcast-api failcast-scheduler
for n in $(seq 1 "$WORKERS"); do systemctl restart "failcast-worker@$n"; done

# TLS: a certificate via the webroot challenge, served by a temporary HTTP-only site.
install -d /var/www/certbot
if [ ! -d "/etc/letsencrypt/live/$FAILCAST_DOMAIN" ]; then
    cat >/etc/nginx/sites-available/failcast-acme <<NGINX
server { listen 80; server_name $FAILCAST_DOMAIN; location /.well-known/acme-challenge/ { root /var/www/certbot; } }
NGINX
    rm -f /etc/nginx/sites-enabled/*
    ln -sf /etc/nginx/sites-available/failcast-acme /etc/nginx/sites-enabled/failcast-acme
    systemctl reload nginx || systemctl restart nginx
    certbot certonly --webroot -w /var/www/certbot -d "$FAILCAST_DOMAIN" \
        --email "$CERTBOT_EMAIL" --agree-tos --non-interactive
    rm -f /etc/nginx/sites-enabled/failcast-acme /etc/nginx/sites-available/failcast-acme
fi
FAILCAST_DOMAIN="$FAILCAST_DOMAIN" UPSTREAMS="server 127.0.0.1:8000;" \
    envsubst '${FAILCAST_DOMAIN} ${UPSTREAMS}' <"$SRC/deploy/nginx.conf" \
    >/etc/nginx/sites-available/failcast
rm -f /etc/nginx/sites-enabled/default
ln -sf /etc/nginx/sites-available/failcast /etc/nginx/sites-enabled/failcast
nginx -t
systemctl reload nginx
# certbot's packaged timer renews; reload nginx after each renewal.
install -d /etc/letsencrypt/renewal-hooks/deploy
printf '#!/bin/sh\nsystemctl reload nginx\n' >/etc/letsencrypt/renewal-hooks/deploy/reload-nginx
chmod +x /etc/letsencrypt/renewal-hooks/deploy/reload-nginx

echo "Failcast is up at https://$FAILCAST_DOMAIN"
