// A peer nobody in this project wrote the library for: Go's net package (the
// language of docker and kubelet), used as a client of unixsock servers and as a
// server for unixsock clients.
//
//	peer server KIND PATH      echo server: "Hi, " + message (stream: per line)
//	peer client KIND PATH      stdin lines -> server, replies -> stdout
//	peer fdserver PATH         seqpacket: receive one message with an fd, answer
//	                           with what can be read through the fd
//	peer fdclient PATH FILE    seqpacket: send FILE's fd (UnixRights), print the answer
//
// KIND is stream, dgram or seqpacket.
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func network(kind string) string {
	switch kind {
	case "stream":
		return "unix"
	case "dgram":
		return "unixgram"
	case "seqpacket":
		return "unixpacket"
	}
	fail(fmt.Errorf("unknown kind %q", kind))
	return ""
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "peer:", err)
	os.Exit(1)
}

// stopOnSignal closes c on SIGTERM/SIGINT so Go removes its socket file.
func stopOnSignal(c io.Closer) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-ch
		c.Close()
		os.Exit(0)
	}()
}

func server(kind, path string) {
	if kind == "dgram" {
		conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if err != nil {
			fail(err)
		}
		stopOnSignal(conn)
		buf := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFromUnix(buf)
			if err != nil {
				fail(err)
			}
			if from != nil && from.Name != "" {
				conn.WriteToUnix(append([]byte("Hi, "), buf[:n]...), from)
			}
		}
	}
	l, err := net.Listen(network(kind), path)
	if err != nil {
		fail(err)
	}
	stopOnSignal(l)
	for {
		c, err := l.Accept()
		if err != nil {
			fail(err)
		}
		go func(c net.Conn) {
			defer c.Close()
			if kind == "stream" {
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte("Hi, " + line))
				}
			}
			buf := make([]byte, 65536)
			for {
				n, err := c.Read(buf)
				if err != nil || n == 0 {
					return
				}
				c.Write(append([]byte("Hi, "), buf[:n]...))
			}
		}(c)
	}
}

func client(kind, path string) {
	var c net.Conn
	var err error
	if kind == "dgram" {
		local := &net.UnixAddr{Name: fmt.Sprintf("@go-peer-%d", os.Getpid()), Net: "unixgram"}
		c, err = net.DialUnix("unixgram", local, &net.UnixAddr{Name: path, Net: "unixgram"})
	} else {
		c, err = net.Dial(network(kind), path)
	}
	if err != nil {
		fail(err)
	}
	defer c.Close()
	in := bufio.NewScanner(os.Stdin)
	r := bufio.NewReader(c)
	buf := make([]byte, 65536)
	for in.Scan() {
		line := in.Text()
		if kind == "stream" {
			if _, err := c.Write([]byte(line + "\n")); err != nil {
				fail(err)
			}
			reply, err := r.ReadString('\n')
			if err != nil {
				fail(err)
			}
			fmt.Print(reply)
			continue
		}
		if _, err := c.Write([]byte(line)); err != nil {
			fail(err)
		}
		n, err := c.Read(buf)
		if err != nil {
			fail(err)
		}
		fmt.Println(string(buf[:n]))
	}
}

func fdserver(path string) {
	l, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		fail(err)
	}
	defer l.Close()
	c, err := l.AcceptUnix()
	if err != nil {
		fail(err)
	}
	defer c.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, syscall.CmsgSpace(4*8))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		fail(err)
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		fail(fmt.Errorf("no control message (%v)", err))
	}
	fds, err := syscall.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		fail(fmt.Errorf("expected one fd (%v)", err))
	}
	f := os.NewFile(uintptr(fds[0]), "passed")
	content, _ := io.ReadAll(f)
	f.Close()
	c.Write([]byte(string(buf[:n]) + ": " + string(content)))
}

func fdclient(path, file string) {
	f, err := os.Open(file)
	if err != nil {
		fail(err)
	}
	c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		fail(err)
	}
	defer c.Close()
	if _, _, err := c.WriteMsgUnix([]byte("from go"), syscall.UnixRights(int(f.Fd())), nil); err != nil {
		fail(err)
	}
	f.Close()
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		fail(err)
	}
	fmt.Print(string(buf[:n]))
}

func main() {
	a := os.Args
	switch {
	case len(a) == 4 && a[1] == "server":
		server(a[2], a[3])
	case len(a) == 4 && a[1] == "client":
		client(a[2], a[3])
	case len(a) == 3 && a[1] == "fdserver":
		fdserver(a[2])
	case len(a) == 4 && a[1] == "fdclient":
		fdclient(a[2], a[3])
	default:
		fmt.Fprintln(os.Stderr, "usage: peer server|client KIND PATH | fdserver PATH | fdclient PATH FILE")
		os.Exit(2)
	}
}
