package upgrade

import (
	"strings"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// notices holds the texts the log carries, by language.
var notices = map[string]struct{ upgradeStarted, webChatDisabled string }{
	"en": {
		upgradeStarted:  "The session is being upgraded to a screen-sharing session. If the download does not start by itself, click this link: %s",
		webChatDisabled: "The conversation has moved to the customer app. This chat window is now read-only.",
	},
	"fr": {
		upgradeStarted:  "La session est en cours de transformation en session avec partage d'écran. Si le téléchargement ne démarre pas automatiquement, cliquez sur ce lien : %s",
		webChatDisabled: "La conversation se poursuit dans l'application client. Cette fenêtre de chat est désormais en lecture seule.",
	},
}

func texts(language string) struct{ upgradeStarted, webChatDisabled string } {
	if t, ok := notices[language]; ok {
		return t
	}
	return notices["en"]
}

// upgradeStartedText is the UPGRADE_STARTED notice with the link.
func upgradeStartedText(language, url string) string {
	return strings.Replace(texts(language).upgradeStarted, "%s", url, 1)
}

// WebChatDisabledText is the disabled web chat's text.
func WebChatDisabledText(language string) string { return texts(language).webChatDisabled }

// Platform is where an opener is meant to run.
type Platform struct {
	Device assistv1.DeviceType
	OS     assistv1.OperatingSystem
	// Arch is "amd64" or "arm64" on desktop; "" when unknown.
	Arch string
}

// GOOS is the Go name of the platform's desktop operating system, or ""
// for mobile and unknown ones.
func (p Platform) GOOS() string {
	switch p.OS {
	case assistv1.OperatingSystem_OPERATING_SYSTEM_WINDOWS:
		return "windows"
	case assistv1.OperatingSystem_OPERATING_SYSTEM_MACOS:
		return "darwin"
	case assistv1.OperatingSystem_OPERATING_SYSTEM_LINUX, assistv1.OperatingSystem_OPERATING_SYSTEM_CHROMEOS:
		return "linux"
	}
	return ""
}

// Mobile reports whether the platform gets the mobile page.
func (p Platform) Mobile() bool {
	return p.Device == assistv1.DeviceType_DEVICE_TYPE_MOBILE ||
		p.OS == assistv1.OperatingSystem_OPERATING_SYSTEM_ANDROID ||
		p.OS == assistv1.OperatingSystem_OPERATING_SYSTEM_IOS
}

// FromUserAgent guesses the platform from a browser's User-Agent.
func FromUserAgent(ua string) Platform {
	l := strings.ToLower(ua)
	p := Platform{Device: assistv1.DeviceType_DEVICE_TYPE_DESKTOP}
	switch {
	case strings.Contains(l, "android"):
		p.Device, p.OS = assistv1.DeviceType_DEVICE_TYPE_MOBILE, assistv1.OperatingSystem_OPERATING_SYSTEM_ANDROID
	case strings.Contains(l, "iphone"), strings.Contains(l, "ipad"), strings.Contains(l, "ipod"):
		p.Device, p.OS = assistv1.DeviceType_DEVICE_TYPE_MOBILE, assistv1.OperatingSystem_OPERATING_SYSTEM_IOS
	case strings.Contains(l, "windows"):
		p.OS = assistv1.OperatingSystem_OPERATING_SYSTEM_WINDOWS
	case strings.Contains(l, "macintosh"), strings.Contains(l, "mac os x"):
		p.OS = assistv1.OperatingSystem_OPERATING_SYSTEM_MACOS
	case strings.Contains(l, "cros"):
		p.OS = assistv1.OperatingSystem_OPERATING_SYSTEM_CHROMEOS
	case strings.Contains(l, "linux"), strings.Contains(l, "x11"):
		p.OS = assistv1.OperatingSystem_OPERATING_SYSTEM_LINUX
	default:
		p.Device = assistv1.DeviceType_DEVICE_TYPE_UNSPECIFIED
	}
	switch {
	case strings.Contains(l, "aarch64"), strings.Contains(l, "arm64"), strings.Contains(l, "armv8"):
		p.Arch = "arm64"
	case strings.Contains(l, "x86_64"), strings.Contains(l, "x64"), strings.Contains(l, "amd64"), strings.Contains(l, "wow64"), strings.Contains(l, "win64"):
		p.Arch = "amd64"
	}
	return p
}

// Resolve completes a platform stored at StartSession with what a
// download request tells (its User-Agent), and picks an architecture:
// browsers on Macs report Intel whatever the chip, and most Macs sold
// since 2020 are arm64; other desktops default to amd64.
func Resolve(stored Platform, userAgent string) Platform {
	ua := FromUserAgent(userAgent)
	p := stored
	if p.OS == assistv1.OperatingSystem_OPERATING_SYSTEM_UNSPECIFIED && p.Device != assistv1.DeviceType_DEVICE_TYPE_MOBILE {
		p.OS = ua.OS
		if p.Device == assistv1.DeviceType_DEVICE_TYPE_UNSPECIFIED {
			p.Device = ua.Device
		}
	}
	if p.Arch == "" {
		p.Arch = ua.Arch
	}
	if p.OS == assistv1.OperatingSystem_OPERATING_SYSTEM_MACOS {
		p.Arch = "arm64"
	}
	if p.Arch == "" {
		p.Arch = "amd64"
	}
	return p
}
