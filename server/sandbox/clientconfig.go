package sandbox

import "printpay.dev/printpay/server/wechatpay"

// ClientConfig turns the credentials into the configuration of a
// wechatpay.Client that talks to the sandbox at sandboxAddr (host:port):
// the public key in public-key and migrating modes, platform certificates
// in certificate and migrating modes.
func (c Credentials) ClientConfig(id, notifyURL, sandboxAddr string) wechatpay.Config {
	cfg := wechatpay.Config{
		ID: id, Mode: wechatpay.Mode(c.Mode), AppID: c.AppID, MchID: c.MchID,
		SubMchID: c.SubMchID, SubAppID: c.SubAppID,
		Serial: c.Serial, PrivateKey: c.PrivateKey, APIv3Key: []byte(c.APIv3Key),
		PlatformCerts: c.SandboxMode != ModePublicKey,
		NotifyURL:     notifyURL, Sandbox: sandboxAddr,
	}
	if c.SandboxMode != ModeCertificate {
		cfg.PublicKey, cfg.PublicKeyID = c.PublicKey, c.PublicKeyID
	}
	return cfg
}
