package koji_test

import "github.com/rida-build/rida/internal/xmlrpc"

func kojiOwner() xmlrpc.KwArgs { return xmlrpc.KwArgs{{Name: "owner", Value: "kojiadmin"}} }

func kwTag(tag string) xmlrpc.KwArgs { return xmlrpc.KwArgs{{Name: "tagID", Value: tag}} }
