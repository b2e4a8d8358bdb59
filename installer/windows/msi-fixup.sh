#!/usr/bin/env bash
# Finishes the MSI wixl built (installer/windows/printpay.wxs) with what wixl
# cannot express: the Windows 10 / Server 2016 launch condition, the custom
# actions' places in the sequence (stop and uninstall run before the files
# are removed), the major upgrade removing the old version first, and the
# properties a silent install may pass.
set -euo pipefail
msi="$1"
q() { msibuild "$msi" -q "$1"; }
q "INSERT INTO \`LaunchCondition\` (\`Condition\`, \`Description\`) VALUES ('Installed OR (VersionNT64 AND WINDOWSBUILD >= 10240)', 'printpay needs Windows 10 or Windows Server 2016 or later (64-bit). This computer runs an older Windows; printpay was not installed.')"
q "UPDATE \`InstallExecuteSequence\` SET \`Sequence\` = 1401 WHERE \`Action\` = 'RemoveExistingProducts'"
q "UPDATE \`InstallExecuteSequence\` SET \`Sequence\` = 3490 WHERE \`Action\` = 'PrintpayStop'"
q "UPDATE \`InstallExecuteSequence\` SET \`Sequence\` = 3491 WHERE \`Action\` = 'PrintpayUninstall'"
q "UPDATE \`InstallExecuteSequence\` SET \`Sequence\` = 3492 WHERE \`Action\` = 'PrintpayPurge'"
q "UPDATE \`Property\` SET \`Value\` = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;SERVER;CODE;QUEUE;PURGE' WHERE \`Property\` = 'SecureCustomProperties'"
