module unixsock/peer

go 1.19
