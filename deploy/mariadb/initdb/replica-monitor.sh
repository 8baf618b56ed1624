# Sourced by the MariaDB image's entrypoint at the primary's first start (docker-compose.yml),
# after it created MARIADB_USER. SLAVE MONITOR lets that user run SHOW REPLICA STATUS: the
# application reads a replica's lag with it and uses the replica only while the lag is known and
# small. Written to the binary log, so every replica made from this primary has the grant too.
docker_process_sql <<<"GRANT SLAVE MONITOR ON *.* TO '${MARIADB_USER}'@'%';"
