# Bench fleet host: the test image plus chrony (from its apt cache, offline) and sshd ready to run.
# chrony.conf has no time source at all (port 0 = no NTP socket, `local` = reports itself as the
# reference), so the chronyd each bench host runs sends no packet anywhere.
FROM fleetclock-test/debian:12
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chrony >/dev/null \
 && rm -f /usr/sbin/policy-rc.d /etc/ssh/ssh_host_* \
 && printf 'local stratum 10\nport 0\nbindcmdaddress 127.0.0.1\ndriftfile /var/lib/chrony/chrony.drift\n' \
    > /etc/chrony/chrony.conf \
 && mkdir -p /run/sshd /root/.ssh && chmod 700 /root/.ssh
