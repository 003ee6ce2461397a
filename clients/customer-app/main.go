// Command assist-customer is the Assist customer app. An advisor upgrades
// a web chat to a standard session; the customer downloads the opener (this
// program with the session's signed opener appended) and runs it. The app
// redeems the opener, asks the customer to share the screen, and, when the
// account's handoff gives it a chat area, carries the conversation on.
//
// Usage:
//
//	Assist-Customer-XXXXXXXX[.exe] [flags]      run the downloaded opener
//	assist-customer [flags] open FILE|URL      a .assist file, an opener binary or an assist://open?token=… link
//
// With --accept-screen-share or --refuse-screen-share it runs without
// questions: it reads messages to send from standard input, one a line,
// and writes what happens as JSON lines on standard output.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitRefused = 2 // the opener was refused
	exitUsage   = 64
)

type options struct {
	accept, refuse bool
	server         string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("assist-customer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.accept, "accept-screen-share", false, "answer OK to the screen-sharing request without asking; non-interactive: messages from stdin, events as JSON lines on stdout")
	fs.BoolVar(&o.refuse, "refuse-screen-share", false, "refuse the screen-sharing request without asking; non-interactive like --accept-screen-share")
	fs.StringVar(&o.server, "server", "", "server URL (default: the one the opener names)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Assist customer app.

Usage:
  Assist-Customer-XXXXXXXX [flags]          run the opener you downloaded
  assist-customer [flags] open FILE|URL     open a .assist file, an opener file,
                                            or an assist://open?token=... link

The app redeems the opener (once: an opener works a single time, for a few
minutes), asks you to share your screen and, if your support team's settings
give it a chat area, shows the conversation so far and lets you chat: type a
line and press Enter to send it. The app ends when the session does.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), `
Non-interactive mode (--accept-screen-share or --refuse-screen-share) writes
one JSON object per line on stdout, with a "type": redeemed, screen_share,
event, live, sent, send_failed, ended, error.

Exit status: 0 when the session ended or screen sharing was refused, 2 when
the opener was refused, 1 on other failures, 64 on bad usage.
`)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	rest := fs.Args()
	var token string
	var err error
	switch {
	case len(rest) >= 2 && rest[0] == "open":
		if err := fs.Parse(rest[2:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "assist-customer: unexpected arguments: %v\n", fs.Args())
			return exitUsage
		}
		token, err = openerFrom(rest[1])
	case len(rest) == 0:
		var exe string
		exe, err = os.Executable()
		if err == nil {
			token, err = readTrailer(exe)
		}
		if errors.Is(err, errNoTrailer) {
			err = errors.New("this copy of the app carries no opener: run the opener file you downloaded, or: assist-customer open FILE|URL (see --help)")
		}
	default:
		fs.Usage()
		return exitUsage
	}
	if o.accept && o.refuse {
		fmt.Fprintln(stderr, "assist-customer: choose one of --accept-screen-share and --refuse-screen-share")
		return exitUsage
	}
	ui := newUI(o, stdin, stdout, stderr)
	if err != nil {
		ui.failure("opener", err)
		return exitRefused
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runSession(ctx, o, token, ui)
}
