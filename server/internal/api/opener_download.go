package api

import (
	"encoding/binary"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/upgrade"
)

// OpenerTrailerMagic ends a customer app binary that carries an opener:
// the file is the app, then the opener token, then its length (4 bytes,
// big-endian), then this marker. The app reads it back from its own
// executable at start (clients/customer-app keeps the same format).
const OpenerTrailerMagic = "ASSIST-OPENER-01"

// OpenerTrailer returns what is appended to the app for token.
func OpenerTrailer(token string) []byte {
	b := append([]byte(token), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[len(token):], uint32(len(token)))
	return append(b, OpenerTrailerMagic...)
}

// AppBinaryName is the file name of the customer app for goos/goarch in
// the apps folder, as `make build` writes it.
func AppBinaryName(goos, goarch string) string {
	name := "assist-customer-" + goos + "-" + goarch
	if goos == "windows" {
		name += ".exe"
	}
	return name
}

// OpenerDownload serves GET /o/{id}: the opener of an upgraded session,
// in the form that fits the customer's platform (see
// UpgradeOffered.opener_url). appsDir holds the customer app binaries.
func OpenerDownload(d *Domain, appsDir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := uuid.Parse(r.PathValue("id"))
		if err != nil {
			openerPage(w, http.StatusNotFound, pageNotFound)
			return
		}
		dl, err := d.Upgrade.Download(r.Context(), id)
		if err != nil {
			switch {
			case failure.IsKind(err, failure.KindNotFound):
				openerPage(w, http.StatusNotFound, pageNotFound)
			case failure.IsKind(err, failure.KindFailedPrecondition):
				openerPage(w, http.StatusGone, pageGone)
			default:
				d.Logger.ErrorContext(r.Context(), "opener download failed", "error", err)
				openerPage(w, http.StatusServiceUnavailable, pageUnavailable)
			}
			return
		}
		q := r.URL.Query()
		p := upgrade.Resolve(dl.Platform, r.UserAgent())
		switch q.Get("os") {
		case "":
		case "windows":
			p.Device, p.OS = assistv1.DeviceType_DEVICE_TYPE_DESKTOP, assistv1.OperatingSystem_OPERATING_SYSTEM_WINDOWS
		case "macos":
			p.Device, p.OS = assistv1.DeviceType_DEVICE_TYPE_DESKTOP, assistv1.OperatingSystem_OPERATING_SYSTEM_MACOS
		case "linux":
			p.Device, p.OS = assistv1.DeviceType_DEVICE_TYPE_DESKTOP, assistv1.OperatingSystem_OPERATING_SYSTEM_LINUX
		default:
			openerPage(w, http.StatusBadRequest, pageBadPlatform)
			return
		}
		switch a := q.Get("arch"); a {
		case "":
		case "amd64", "arm64":
			p.Arch = a
		default:
			openerPage(w, http.StatusBadRequest, pageBadPlatform)
			return
		}
		deepLink := "assist://open?token=" + url.QueryEscape(dl.Token)
		switch {
		case q.Get("format") == "assist":
			w.Header().Set("Content-Type", "application/x-assist-opener")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="Assist-Customer-%s.assist"`, dl.ShortCode))
			w.Header().Set("Cache-Control", "no-store")
			_, _ = io.WriteString(w, deepLink+"\n")
			return
		case p.Mobile() || p.GOOS() == "":
			openerPage(w, http.StatusOK, pageData{Mobile: true, DeepLink: template.URL(deepLink), Token: dl.Token})
			return
		}
		name := AppBinaryName(p.GOOS(), p.Arch)
		f, err := os.Open(filepath.Join(appsDir, name))
		if err != nil {
			openerPage(w, http.StatusNotFound, pageData{Missing: platformName(p)})
			return
		}
		defer func() { _ = f.Close() }()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			openerPage(w, http.StatusNotFound, pageData{Missing: platformName(p)})
			return
		}
		trailer := OpenerTrailer(dl.Token)
		file := "Assist-Customer-" + dl.ShortCode
		if p.GOOS() == "windows" {
			file += ".exe"
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, file))
		w.Header().Set("Content-Length", strconv.FormatInt(st.Size()+int64(len(trailer)), 10))
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if _, err := io.Copy(w, f); err != nil {
			return
		}
		_, _ = w.Write(trailer)
	})
}

func platformName(p upgrade.Platform) string {
	names := map[string]string{"windows": "Windows", "darwin": "macOS", "linux": "Linux"}
	return names[p.GOOS()] + " " + p.Arch
}

type pageData struct {
	Status   string
	Mobile   bool
	DeepLink template.URL
	Token    string
	Missing  string
	EN, FR   string
}

var (
	pageNotFound    = pageData{Status: "notfound", EN: "This opener link does not exist.", FR: "Ce lien d'ouverture n'existe pas."}
	pageGone        = pageData{Status: "gone", EN: "This opener was already used, has expired, or its session has ended. Ask your advisor for a new one.", FR: "Ce lien a déjà servi, a expiré, ou sa session est terminée. Demandez-en un nouveau à votre conseiller."}
	pageUnavailable = pageData{Status: "unavailable", EN: "The opener cannot be served right now. Try again in a moment.", FR: "Le lien ne peut pas être servi pour le moment. Réessayez dans un instant."}
	pageBadPlatform = pageData{Status: "badplatform", EN: "Unknown platform: os must be windows, macos or linux, and arch amd64 or arm64.", FR: "Plateforme inconnue : os doit valoir windows, macos ou linux, et arch amd64 ou arm64."}
)

var openerTemplate = template.Must(template.New("opener").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Assist: customer app</title></head>
<body>
<main>
<h1>Assist</h1>
{{if .Mobile}}
<section lang="en"><h2>Open the customer app</h2>
<p><a href="{{.DeepLink}}">Open the Assist app</a>. Your chat goes on in your browser meanwhile.</p>
<p><label for="token-en">Or paste this opener into the app:</label></p>
<textarea id="token-en" readonly rows="6" cols="60">{{.Token}}</textarea></section>
<section lang="fr"><h2>Ouvrir l'application client</h2>
<p><a href="{{.DeepLink}}">Ouvrir l'application Assist</a>. Votre chat continue dans le navigateur pendant ce temps.</p>
<p><label for="token-fr">Ou collez ce lien d'ouverture dans l'application :</label></p>
<textarea id="token-fr" readonly rows="6" cols="60">{{.Token}}</textarea></section>
{{else if .Missing}}
<p role="alert">The customer app for {{.Missing}} is not available on this server: tell your advisor, who can go on chatting with you here.</p>
<p role="alert" lang="fr">L'application client pour {{.Missing}} n'est pas disponible sur ce serveur : prévenez votre conseiller, qui peut continuer à discuter avec vous ici.</p>
{{else}}
<p role="alert">{{.EN}}</p>
<p role="alert" lang="fr">{{.FR}}</p>
{{end}}
</main>
</body>
</html>
`))

func openerPage(w http.ResponseWriter, status int, data pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = openerTemplate.Execute(w, data)
}
