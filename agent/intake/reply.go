package intake

import "printpay.dev/printpay/drivers"

// Identity answered to GS I n.
const (
	idModel    = 0x20 // GS I 1: printer model ID
	idType     = 0x02 // GS I 2: type ID, bit 1: autocutter fitted
	idROM      = 0x10 // GS I 3: ROM version ID
	idFirmware = "printpay"
	idMaker    = "printpay"
	idModelStr = "virtual receipt printer"
	idSerial   = "0"
	idFont     = "GB18030"
)

// statusFlags is a status reduced to what the reply bytes say.
type statusFlags struct {
	online, cover, paperOut, nearEnd, err bool
}

func flagsOf(st drivers.Status) statusFlags {
	f := statusFlags{nearEnd: st.PaperNearEnd}
	switch st.State {
	case drivers.StateOnline:
		f.online = true
	case drivers.StatePaperOut:
		f.paperOut = true
	case drivers.StateCoverOpen:
		f.cover = true
	case drivers.StateError:
		f.err = true
	}
	return f
}

// statusReply returns the bytes a printer in state st sends back for the
// status query cmd (a whole OpStatusQuery token), or nil when it sends
// nothing. The second result reports a GS a command and whether it turns
// Automatic Status Back on.
func statusReply(cmd []byte, st drivers.Status) (reply []byte, asb, asbOn bool) {
	f := flagsOf(st)
	bit := func(on bool, b byte) byte {
		if on {
			return b
		}
		return 0
	}
	switch {
	case len(cmd) == 3 && cmd[0] == 0x10 && cmd[1] == 0x04:
		switch cmd[2] {
		case 1:
			if f.online {
				return []byte{0x16}, false, false
			}
			return []byte{0x1E}, false, false
		case 2:
			return []byte{0x12 | bit(f.cover, 0x04) | bit(f.paperOut, 0x20) | bit(f.err, 0x40)}, false, false
		case 3:
			return []byte{0x12 | bit(f.err, 0x20)}, false, false
		case 4:
			return []byte{0x12 | bit(f.nearEnd, 0x0C) | bit(f.paperOut, 0x60)}, false, false
		}
	case len(cmd) == 3 && cmd[0] == 0x1D && cmd[1] == 'r':
		switch cmd[2] {
		case 1, '1':
			return []byte{bit(f.nearEnd, 0x03) | bit(f.paperOut, 0x0C)}, false, false
		case 2, '2', 4, '4':
			return []byte{0x00}, false, false
		}
	case len(cmd) == 3 && cmd[0] == 0x1D && cmd[1] == 'I':
		switch cmd[2] {
		case 1, '1':
			return []byte{idModel}, false, false
		case 2, '2':
			return []byte{idType}, false, false
		case 3, '3':
			return []byte{idROM}, false, false
		case 65:
			return idString(idFirmware), false, false
		case 66:
			return idString(idMaker), false, false
		case 67:
			return idString(idModelStr), false, false
		case 68:
			return idString(idSerial), false, false
		case 69:
			return idString(idFont), false, false
		}
	case len(cmd) == 3 && cmd[0] == 0x1D && cmd[1] == 'a':
		if cmd[2] == 0 {
			return nil, true, false
		}
		return asbBlock(st), true, true
	case len(cmd) == 11 && cmd[0] == 0x1D && cmd[1] == '(' && cmd[2] == 'H' && cmd[3] == 6 && cmd[4] == 0 && cmd[5] == 0x30 && cmd[6] == 0x30:
		return []byte{0x37, 0x22, cmd[7], cmd[8], cmd[9], cmd[10], 0x00}, false, false
	}
	return nil, false, false
}

func idString(s string) []byte {
	b := append([]byte{'_'}, s...)
	return append(b, 0)
}

// asbBlock is the 4-byte Automatic Status Back block for st.
func asbBlock(st drivers.Status) []byte {
	f := flagsOf(st)
	b1 := byte(0x10)
	if !f.online {
		b1 |= 0x08
	}
	if f.cover {
		b1 |= 0x20
	}
	var b2, b3 byte
	if f.err {
		b2 |= 0x20
	}
	if f.nearEnd {
		b3 |= 0x03
	}
	if f.paperOut {
		b3 |= 0x0C
	}
	return []byte{b1, b2, b3, 0x00}
}
