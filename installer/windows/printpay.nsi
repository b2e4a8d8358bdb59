; printpay setup for Windows 10 / Server 2016 and later, 64-bit.
;
; Built on Linux by installer/build.sh (make dist):
;   makensis -DVERSION=1.2.3 -DVIVERSION=1.2.3.0 -DEXE=/path/printpay.exe \
;            -DOUTFILE=/path/printpay-setup.exe [-DSIGN=/path/sign.sh] printpay.nsi
;
; Silent install (every parameter optional; /D= must come last, no quotes):
;   printpay-setup.exe /S /SERVER=https://pay.example.com /CODE=123456 [/QUEUE=0] [/DRIVER=NAME] [/D=C:\printpay]
; Silent uninstall (keeps the saved receipts, configuration and pairing
; unless /PURGE=1):
;   "C:\Program Files\printpay\uninstall.exe" /S [/PURGE=1]
;
; The setup only copies files; `printpay install` does the rest (configuration,
; service, print queue, firewall rule, ACLs), so an install run twice, an
; upgrade and a repair are the same steps. Its output is kept in
; $INSTDIR\install.log.

Unicode true
Target amd64-unicode
ManifestSupportedOS all
RequestExecutionLevel admin
SetCompressor /SOLID lzma

!ifndef VERSION
  !define VERSION 0.0.0
!endif
!ifndef VIVERSION
  !define VIVERSION 0.0.0.0
!endif
!ifndef OUTFILE
  !define OUTFILE printpay-setup.exe
!endif
!ifdef SIGN
  !finalize '"${SIGN}" "%1"'
  !uninstfinalize '"${SIGN}" "%1"'
!endif

!include LogicLib.nsh
!include WinVer.nsh
!include x64.nsh
!include FileFunc.nsh

!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\printpay"

Name "printpay"
Caption "printpay ${VERSION} setup"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\printpay"
InstallDirRegKey HKLM "${UNINSTKEY}" "InstallLocation"
ShowInstDetails show
ShowUninstDetails show

VIProductVersion "${VIVERSION}"
VIAddVersionKey "ProductName" "printpay"
VIAddVersionKey "FileDescription" "printpay setup"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "CompanyName" "printpay"
VIAddVersionKey "LegalCopyright" "printpay"

Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Var Server
Var Code
Var Queue
Var Driver
Var Purge
Var Log

Function .onInit
  ${IfNot} ${AtLeastWin10}
    MessageBox MB_OK|MB_ICONSTOP "printpay needs Windows 10 or Windows Server 2016 or later (64-bit). This computer runs an older Windows; printpay was not installed." /SD IDOK
    SetErrorLevel 3
    Abort
  ${EndIf}
  ${IfNot} ${RunningX64}
    MessageBox MB_OK|MB_ICONSTOP "printpay needs a 64-bit Windows 10 or Windows Server 2016 or later." /SD IDOK
    SetErrorLevel 3
    Abort
  ${EndIf}
  SetRegView 64
  ; The options are found with " " as the delimiter (the leading space), so
  ; values may hold "/" (URLs) without quotes.
  ${GetParameters} $0
  StrCpy $0 " $0"
  ${GetOptions} $0 " /SERVER=" $Server
  ${GetOptions} $0 " /CODE=" $Code
  ${GetOptions} $0 " /DRIVER=" $Driver
  StrCpy $Queue "1"
  ClearErrors
  ${GetOptions} $0 " /QUEUE=" $1
  ${IfNot} ${Errors}
    StrCpy $Queue $1
  ${EndIf}
FunctionEnd

; Run printpay with arguments, log its output to install.log and leave its
; exit code in $0.
!macro Printpay ARGS
  StrCpy $3 `${ARGS}`
  nsExec::ExecToStack `"$INSTDIR\printpay.exe" $3`
  Pop $0
  Pop $1
  DetailPrint "$1"
  FileWrite $Log "> printpay $3$\r$\n$1$\r$\n(exit $0)$\r$\n"
!macroend

Section "printpay"
  SetShellVarContext all
  SetOutPath "$INSTDIR"
  ; Upgrade in place: stop the running agent so its file can be replaced.
  ${If} ${FileExists} "$INSTDIR\printpay.exe"
    nsExec::ExecToStack '"$INSTDIR\printpay.exe" stop'
    Pop $0
    Pop $1
  ${EndIf}
  ; The stopped service's process may take a moment to exit: retry the copy
  ; for up to 10 s instead of asking.
  StrCpy $4 0
  SetOverwrite try
  copy:
  ClearErrors
  File "/oname=printpay.exe" "${EXE}"
  ${If} ${Errors}
    IntOp $4 $4 + 1
    ${If} $4 < 10
      Sleep 1000
      Goto copy
    ${EndIf}
    MessageBox MB_OK|MB_ICONEXCLAMATION "$INSTDIR\printpay.exe is in use and could not be replaced. Close programs using it and run this setup again." /SD IDOK
    SetErrorLevel 2
    Abort
  ${EndIf}
  SetOverwrite on
  WriteUninstaller "$INSTDIR\uninstall.exe"
  FileOpen $Log "$INSTDIR\install.log" w
  FileWrite $Log "printpay ${VERSION} setup$\r$\n"

  StrCpy $2 "install"
  ${If} $Queue != "0"
    StrCpy $2 "$2 --printer-queue"
  ${EndIf}
  ${If} $Driver != ""
    StrCpy $2 '$2 --driver "$Driver"'
  ${EndIf}
  ${If} $Server != ""
    StrCpy $2 '$2 --server "$Server"'
  ${EndIf}
  !insertmacro Printpay $2
  ${If} $0 != "0"
    FileClose $Log
    MessageBox MB_OK|MB_ICONEXCLAMATION "printpay could not finish installing:$\r$\n$1$\r$\nRun this setup again to repair." /SD IDOK
    SetErrorLevel 2
    Abort
  ${EndIf}

  ${If} $Code != ""
    ${If} $Server == ""
      DetailPrint "A pairing code needs /SERVER= too; not paired."
      FileWrite $Log "pairing skipped: /CODE= without /SERVER=$\r$\n"
    ${Else}
      !insertmacro Printpay 'enroll --server "$Server" --code "$Code"'
      ${If} $0 != "0"
        DetailPrint "Pairing did not succeed; printpay prints without a payment QR until it is paired. Run setup again, or: printpay enroll --server URL --code CODE"
        FileWrite $Log "pairing did not succeed (exit $0); receipts print without QR until paired$\r$\n"
      ${EndIf}
    ${EndIf}
  ${EndIf}

  !insertmacro Printpay "start"
  ${If} $0 != "0"
    FileClose $Log
    MessageBox MB_OK|MB_ICONEXCLAMATION "The printpay service did not start:$\r$\n$1$\r$\nRun this setup again to repair." /SD IDOK
    SetErrorLevel 2
    Abort
  ${EndIf}
  FileClose $Log

  WriteRegStr HKLM "${UNINSTKEY}" "DisplayName" "printpay"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTKEY}" "Publisher" "printpay"
  WriteRegStr HKLM "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKLM "${UNINSTKEY}" "EstimatedSize" $0
SectionEnd

Function un.onInit
  SetRegView 64
  ${GetParameters} $0
  StrCpy $0 " $0"
  StrCpy $Purge "0"
  ClearErrors
  ${GetOptions} $0 " /PURGE=" $1
  ${IfNot} ${Errors}
    StrCpy $Purge $1
  ${Else}
    IfSilent done
    MessageBox MB_YESNO|MB_ICONQUESTION "Also delete the saved receipts, the configuration and this till's pairing?" IDNO done
    StrCpy $Purge "1"
  ${EndIf}
  done:
FunctionEnd

Section "Uninstall"
  SetShellVarContext all
  ${If} $Purge == "1"
    nsExec::ExecToStack '"$INSTDIR\printpay.exe" uninstall --purge'
  ${Else}
    nsExec::ExecToStack '"$INSTDIR\printpay.exe" uninstall'
  ${EndIf}
  Pop $0
  Pop $1
  DetailPrint "$1"
  Delete "$INSTDIR\printpay.exe"
  Delete "$INSTDIR\install.log"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINSTKEY}"
SectionEnd
