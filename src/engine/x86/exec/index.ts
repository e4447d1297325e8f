// Imports every instruction family so each registers its mnemonics. One
// family, one file; adding a family means adding its import here.

import './alu';
import './datamov';
import './branch';
import './stackops';
import './system';
import './sse-move';
import './sse-int';
import './x87';
import './fxsave';
import './far';
import './interrupt-insns';
import './fastcall';
import './shift';
import './muldiv';
import './bitops';
import './bcd';
import './misc';
import './atomic';
import './string';
import './control-regs';
import './tables';
import './flagsys';
import './io';
import './cpuid';
import './system-msr';
import './vmx-insns';
